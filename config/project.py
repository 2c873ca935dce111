"""What a config key's declaration holds, the declarations `Pulumi.yaml` carries, and values turned
into the declared types.

Each key is declared once, on the settings field it fills (config/keys.py `key`); `Pulumi.yaml`'s
`config:` block is written from those declarations (scripts/project_config.py). The optional
secret keys of `SECRET_KEYS` are declared here instead: the Pulumi CLI does not let `Pulumi.yaml`
declare them. A key in the `value:` form (no type) is an object whose default is its value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError, cut, shown

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 32
"""Deepest nesting of an object value (Helm values among them; real ones nest about 10 deep).
Inputs travel as protobuf Structs: a value 200 levels deep loaded, then broke registration
(RecursionError serializing it; protobuf parsers commonly stop at 100 message levels)."""
MAX_NUMBER = 2**53
"""Largest number a value may hold: the engine carries numbers as doubles, exact up to 2^53."""
GO_TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? [+-]\d{4} [A-Za-z0-9+-]+", re.ASCII)
"""A date as the Pulumi CLI hands it over: a stack file's unquoted `2026-01-01` is a YAML timestamp,
which the CLI turns into Go's `time.Time.String()`, `2026-01-01 00:00:00 +0000 UTC` (pulumi/pulumi
v3.259.0, sdk/go/common/resource/config/object.go `unmarshalObject`). No value of this project
means that text."""
NOT_TEXT = ("true", "false", "null", "None")
"""What a string key receives from an unquoted YAML `true`, `false` (the CLI passes a boolean on as
its text), or a null turned to text by a tool (`null`, Python's `None`): never a value a string key
of this project takes."""


@dataclass(frozen=True)
class Declaration:
    """One key of `Pulumi.yaml`: its type (None for an untyped `value:` key, an object) and default."""

    type: str | None
    default: Any
    has_default: bool
    items: str | None = None
    secret: bool = False
    description: str = ""


SECRET_KEYS = {
    "existingDbPassword": Declaration(
        "string",
        "",
        True,
        secret=True,
        description="Password of dbUsername, the existing database's administrator: `pulumi config set --secret "
        "existingDbPassword ...` (the stack file then holds `secure: <ciphertext>`); refused in plain text. "
        "Kept in a Secrets Manager secret that only the database roles Job reads; Airflow connects as its "
        "own role. Not declared in Pulumi.yaml (see the page's introduction).",
    ),
    "ssoClientSecret": Declaration(
        "string",
        "",
        True,
        secret=True,
        description="Client secret of ssoClientId at the identity provider: `pulumi config set --secret "
        "ssoClientSecret ...`; refused in plain text. It reaches the API server only, from a Kubernetes Secret. "
        "Not declared in Pulumi.yaml (see the page's introduction).",
    ),
}
"""Optional secret keys, which the program reads with `get_secret`/`require_secret`; absent, "".
`Pulumi.yaml` cannot declare them: the Pulumi CLI requires a value on every stack for a declared key
without a default, and refuses a `secret: true` key whose default applies, a default being plain
text (pulumi/pulumi v3.259.0, pkg/workspace/config.go `mergeConfig`, `validateStackConfigValue`).
Set with `pulumi config set --secret`, stored encrypted (`secure:`) in the stack file."""


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
                spec["type"],
                spec.get("default"),
                "default" in spec,
                (spec.get("items") or {}).get("type"),
                description=spec.get("description", ""),
            )
    for key, decl in SECRET_KEYS.items():
        decls.setdefault(key, decl)
    return doc["name"], decls


def check_secrets(values: Mapping[str, Any], secret: Collection[str]) -> None:
    """Refuse a `SECRET_KEYS` key the engine did not hand over as a secret (set in plain text)."""
    for key in SECRET_KEYS:
        if key in values and key not in secret:
            raise ConfigError(
                key,
                f"is a secret and was given in plain text; set it with `pulumi config set --secret {key}` "
                "(stored encrypted as `secure:` in the stack file)",
            )


def parse_value(key: str, decl: Declaration, raw: Any) -> Any:
    """A config value (a string from the engine, or a default) in its declared type."""
    kind = decl.type or "object"
    value = raw
    if isinstance(raw, str) and kind != "string":
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, an integer past 4,300 digits, nested past recursion
            raise ConfigError(key, f"'{cut(raw)}' is not a valid {kind}") from None
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "object": isinstance(value, dict),
    }[kind]
    if not ok:
        expected = "a list of strings" if kind == "array" else f"a {kind}"
        raise ConfigError(key, f"{shown(value)} is not {expected}")
    if kind == "string" and value in NOT_TEXT:
        raise ConfigError(
            key,
            f"'{value}' is not a value of this key: YAML reads an unquoted true or false as a boolean and ~ or null "
            "as nothing, which reach the program as this text; set the value the key takes",
        )
    levels, numbers, texts = walk(value)
    date = next((text for text in texts if GO_TIME_TEXT.fullmatch(text)), None)
    if date:
        raise ConfigError(
            key,
            f"holds '{date}', a date YAML read from an unquoted {date[:10]} (Go's text of it); quote the value "
            "as you mean it",
        )
    if levels > MAX_DEPTH:
        raise ConfigError(key, f"nests {levels} levels deep; at most {MAX_DEPTH} are accepted")
    for number in numbers:
        # The engine carries every number as a double: larger integers change, infinities fail.
        if (isinstance(number, float) and not math.isfinite(number)) or abs(number) > MAX_NUMBER:
            raise ConfigError(key, f"holds the number {shown(number)}; numbers are accepted up to 2^53")
    return value


def walk(value: Any) -> tuple[int, list[int | float], list[str]]:
    """How deep maps and lists nest in `value` (a scalar: 0), its numbers and its strings (map keys
    among them); without recursion."""
    deepest, todo = 0, [(value, 1)]
    numbers: list[int | float] = []
    texts: list[str] = []
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in children)
            if isinstance(item, dict):
                texts.extend(k for k in item if isinstance(k, str))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            numbers.append(item)
        elif isinstance(item, str):
            texts.append(item)
    return deepest, numbers, texts
