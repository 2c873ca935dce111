"""Write `Pulumi.yaml`'s `config:` block from the keys the settings declare (config/settings.py `KEYS`).

Each key is written with its type (`items` for a list), description and default, grouped under a
comment per settings section in the order of `SECTIONS`; a secret key `Pulumi.yaml` cannot declare
(config/project.py `SECRET_KEYS`) is a comment in its section. What comes before `config:` is kept
as it stands. A string is written plain where both YAML readers (PyYAML, and Go's yaml.v3 as the
Pulumi CLI reads it, offline/go_yaml.py) read it back unchanged, else double-quoted.
`tests/unit/test_config_declarations.py` fails when the file is stale:

    python scripts/project_config.py
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python scripts/project_config.py`
    sys.path.insert(0, str(ROOT))

from config.keys import Key, declared  # noqa: E402
from config.project import PROJECT_FILE  # noqa: E402
from config.settings import SECTIONS  # noqa: E402
from offline import go_yaml  # noqa: E402

HEADER_WIDTH = 93
"""Width of a section's comment line."""
INDENT = "  "


def scalar(value: Any) -> str:
    """`value` (a string, number or boolean) as a YAML scalar both readers take back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    plain = f"k: {value}\n"
    if value and value == value.strip() and "\n" not in value:
        try:
            if yaml.safe_load(plain) == {"k": value} and go_yaml.load(plain) == {"k": value}:
                return str(value)
        except yaml.YAMLError:  # not a plain scalar (`: ` inside, say)
            pass
    return json.dumps(value, ensure_ascii=False)


def value_lines(value: Any, indent: str) -> list[str]:
    """The lines of a map or a list of maps, at `indent`; a list of scalars is written `[a, b]`."""
    lines: list[str] = []
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, (dict, list)) and item and not _flat(item):
                lines += [f"{indent}{name}:", *value_lines(item, indent + INDENT)]
            else:
                lines.append(f"{indent}{name}: {inline(item)}")
        return lines
    for item in value:  # a list of maps
        first, *rest = value_lines(item, indent + INDENT)
        lines += [f"{indent}- {first.lstrip()}", *rest]
    return lines


def _flat(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)


def inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        if value:
            raise ValueError(f"{value} is a map written inline; value_lines writes it")
        return "{}"
    return scalar(value)


def key_lines(k: Key) -> list[str]:
    if k.secret:
        text = (
            f"{k.name} ({k.type}, secret) is not declared here: the CLI requires every declared key without a "
            "default on every stack, and refuses a `secret: true` key whose (plain) default applies (pulumi "
            "v3.259.0 pkg/workspace/config.go); config/project.py SECRET_KEYS declares it. Set it with "
            f"`pulumi config set --secret {k.name}`."
        )
        return [f"{INDENT}# {line}" for line in textwrap.wrap(text, 96)]
    lines = [f"{INDENT}{k.name}:", f"{INDENT * 2}type: {k.type}"]
    if k.type == "array":
        lines += [f"{INDENT * 2}items:", f"{INDENT * 3}type: string"]
    lines.append(f"{INDENT * 2}description: {scalar(k.description)}")
    if isinstance(k.default, dict) and k.default:
        lines += [f"{INDENT * 2}default:", *value_lines(k.default, INDENT * 3)]
    else:
        lines.append(f"{INDENT * 2}default: {inline(k.default)}")
    return lines


def config_block() -> str:
    """`config:` and every declared key, by section."""
    lines = ["config:"]
    for section in SECTIONS:
        keys = declared(section)
        if not keys:
            continue
        if len(lines) > 1:
            lines.append("")
        title = f"{INDENT}# ---- {section.TITLE.lower()} "  # type: ignore[attr-defined]
        lines.append(title + "-" * (HEADER_WIDTH - len(title)))
        for k in keys:
            lines += key_lines(k)
    return "\n".join(lines) + "\n"


def project_text(current: str) -> str:
    """`current` (Pulumi.yaml's text) with its `config:` block, the file's last, written anew."""
    head, marker, _ = current.partition("\nconfig:\n")
    if not marker:
        raise ValueError("Pulumi.yaml has no top-level `config:` block")
    return head + "\n" + config_block()


def main(argv: list[str] | None = None) -> int:
    # --help (argparse) prints the docstring and exits before anything is written.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    PROJECT_FILE.write_text(project_text(PROJECT_FILE.read_text()))
    print(f"wrote the config: block of {PROJECT_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
