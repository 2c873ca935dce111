"""Helpers the test modules share."""

from __future__ import annotations

import json
from typing import Any

from config.settings import Settings, load_settings
from offline.stack_config import resolve_stack_config


def settings_of(stack: str, **overrides: Any) -> Settings:
    """The settings of a committed stack, with config keys overridden (values as JSON-able data)."""
    config, region = resolve_stack_config(stack)
    config.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()})
    return load_settings(config, stack, region)
