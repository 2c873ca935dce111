"""The config keys `Pulumi.yaml` declares, and their values turned into the declared types.

`Pulumi.yaml` is the one place of each key's name, type, description and default. Pulumi's project
schema has no object type: object keys use the `value:` form, which is their default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Declaration:
    """One key of `Pulumi.yaml`: its type (None for object keys) and default."""

    type: str | None
    default: Any
    has_default: bool
    items: str | None = None


@cache
def read_declarations(project_file: Path = PROJECT_FILE) -> tuple[str, dict[str, Declaration]]:
    """Project name and declared config keys of `Pulumi.yaml` (read once per process)."""
    doc = yaml.load(project_file.read_text(), Loader=_LOADER)  # a safe loader (the C one when PyYAML has it)
    decls: dict[str, Declaration] = {}
    for key, spec in (doc.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            decls[key] = Declaration(None, spec["value"], True)
        else:
            decls[key] = Declaration(
                spec["type"], spec.get("default"), "default" in spec, (spec.get("items") or {}).get("type")
            )
    return doc["name"], decls


def parse_value(key: str, decl: Declaration, raw: Any) -> Any:
    """A config value (a string from the engine, or a default) in its declared type."""
    kind = decl.type or "object"
    value = raw
    if isinstance(raw, str) and kind != "string":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ConfigError(key, f"'{raw}' is not a valid {kind}") from None
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "object": isinstance(value, dict),
    }[kind]
    if not ok:
        expected = "a list of strings" if kind == "array" else f"a {kind}"
        raise ConfigError(key, f"{json.dumps(value)} is not {expected}")
    return value
