"""The one error of the settings: a config key at fault, and what it accepts."""

from __future__ import annotations

import json
from typing import Any

SHOWN_CHARS = 200
"""An error message echoes at most this much of a value."""


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; `key` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def cut(text: str) -> str:
    """`text` as an error message echoes it: at most `SHOWN_CHARS` characters."""
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def shown(value: Any) -> str:
    """A value as an error message echoes it (JSON, cut short); never raises, whatever the value."""
    try:
        return cut(json.dumps(value))
    except (ValueError, RecursionError, TypeError):  # integers past 4,300 digits, deep nesting
        return "a value too large or too deeply nested to show"
