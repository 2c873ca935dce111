"""The errors of the settings: a config key at fault and what it accepts, or several of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

SHOWN_CHARS = 200
"""An error message echoes at most this much of a value."""


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; `key` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config key '{key}': {message}")
        self.key = key


class ConfigErrors(ConfigError):
    """Several config errors found at once, each naming its key (`errors`, in the order found);
    `key` is the first one's, so a caller that reads only `key` still learns where to start."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: tuple[ConfigError, ...] = tuple(one for error in errors for one in each(error))
        ValueError.__init__(
            self, f"{len(self.errors)} config errors:\n" + "\n".join(f"  - {error}" for error in self.errors)
        )
        self.key = self.errors[0].key


def each(error: ConfigError) -> tuple[ConfigError, ...]:
    """The single errors `error` holds (itself, unless it gathers several)."""
    return error.errors if isinstance(error, ConfigErrors) else (error,)


def raise_all(errors: list[ConfigError]) -> None:
    """Raise what `errors` holds: nothing, the one error as it is, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def cut(text: str) -> str:
    """`text` as an error message echoes it: at most `SHOWN_CHARS` characters."""
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def shown(value: Any) -> str:
    """A value as an error message echoes it (JSON, cut short); never raises, whatever the value."""
    try:
        return cut(json.dumps(value))
    except (ValueError, RecursionError, TypeError):  # integers past 4,300 digits, deep nesting
        return "a value too large or too deeply nested to show"
