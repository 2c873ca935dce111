"""A stack's config as the Pulumi CLI would hand it to the program, read from its stack file.

Offline only (the plan and the tests): under `pulumi up` the CLI does this itself. Project
defaults are applied by `config.settings.load_settings`, as the CLI would.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from config.errors import ConfigError
from config.project import PROJECT_FILE, read_declarations

CONFIG_DIR = PROJECT_FILE.parent / "config"  # Pulumi.yaml's stackConfigDir


def available_stacks(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))


def resolve_stack_config(stack: str, config_dir: Path = CONFIG_DIR) -> tuple[dict[str, str], str]:
    """The project's config values of `stack` (without prefix, as engine strings) and `aws:region`."""
    project, _ = read_declarations()
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError("stack", f"no config file {path.name}; stacks: {', '.join(available_stacks(config_dir))}")
    raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    config: dict[str, str] = {}
    region = ""
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if full_key == "aws:region":
            region = str(value)
        elif namespace == project:
            config[key] = value if isinstance(value, str) else json.dumps(value)
        elif namespace != "aws":
            raise ConfigError(
                full_key, f"has namespace '{namespace}'; this program reads '{project}:' and 'aws:region'"
            )
    if not region:
        raise ConfigError("aws:region", "is required in the stack's config file")
    return config, region
