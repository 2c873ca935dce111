"""A stack's config as the Pulumi CLI would hand it to the program, read from its stack file.

Offline only (the plan and the tests): under `pulumi up` the CLI does this itself. The CLI's own
rules (offline/pulumi_cli.py) come first: `Pulumi.yaml` is loaded and checked against Pulumi's
project schema, the stack file is read as the CLI reads it, the project's defaults are applied, and
a missing required key, a secret key in plain text or a value of the wrong type is refused with the
CLI's message, before the program runs. Then this program's rules: only its own keys and
`aws:region`, which is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.project import PROJECT_FILE, SECRET_KEYS
from offline.cli_project import load_project
from offline.cli_values import ConfigValue, plaintext, stack_value
from offline.pulumi_cli import Key, apply_project_config, parse_stack_file, project_key

CONFIG_DIR = PROJECT_FILE.parent / "config"  # Pulumi.yaml's stackConfigDir


@dataclass(frozen=True)
class ResolvedStack:
    config: dict[str, str]
    """The project's keys (without prefix) as the engine hands them to the program: text."""
    region: str
    secret_keys: frozenset[str]
    """Keys of `config` whose values are secrets (encrypted in the stack file, or set with --secret)."""


def available_stacks(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))


def set_value(project_name: str, key: str, value: Any, secret: bool) -> tuple[Key, ConfigValue]:
    """What `pulumi config set [--secret] key value` writes: a string is a plain string value, other
    JSON-able data a structured one (as `--path` or the YAML would hold it); `secret` encrypts it."""
    full = project_key(project_name, key)
    stored = stack_value(value)
    return full, ConfigValue(stored.text, secure=True, object=stored.object) if secret else stored


def resolve_stack(
    stack: str,
    config_dir: Path = CONFIG_DIR,
    overrides: Mapping[str, Any] | None = None,
    project_file: Path = PROJECT_FILE,
) -> ResolvedStack:
    """The config `stack` runs with: its stack file in `config_dir`, then `overrides` as
    `pulumi config set` would add them (keys declared secret, and `SECRET_KEYS`, set with --secret),
    through the CLI's rules."""
    project = load_project(project_file)
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError("stack", f"no config file {path.name}; stacks: {', '.join(available_stacks(config_dir))}")
    values = parse_stack_file(path.read_text(), project, str(path))
    secret_names = set(SECRET_KEYS) | {name for name, spec in project.config.items() if spec.secret}
    for key, value in (overrides or {}).items():
        full, stored = set_value(project.name, key, value, key in secret_names)
        values[full] = stored
    apply_project_config(stack, project, values, lambda _key, value: plaintext(value))
    config: dict[str, str] = {}
    secret: set[str] = set()
    region = ""
    for (namespace, key), value in sorted(values.items()):
        if (namespace, key) == ("aws", "region"):
            region = plaintext(value)
        elif namespace == project.name:
            config[key] = plaintext(value)
            if value.secure:
                secret.add(key)
        elif namespace != "aws":
            raise ConfigError(
                f"{namespace}:{key}",
                f"has namespace '{namespace}'; this program reads '{project.name}:' and 'aws:region'",
            )
    if not region:
        raise ConfigError("aws:region", "is required in the stack's config file")
    return ResolvedStack(config, region, frozenset(secret))


def resolve_stack_config(stack: str, config_dir: Path = CONFIG_DIR) -> tuple[dict[str, str], str]:
    """The project's config values of `stack` (without prefix, as engine strings, the project's
    defaults applied) and `aws:region`."""
    resolved = resolve_stack(stack, config_dir)
    return resolved.config, resolved.region
