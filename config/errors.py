"""The one error of the settings: a config key at fault, and what it accepts."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; `key` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key
