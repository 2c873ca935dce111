"""Values YAML reads as something other than a string or number (issue 25, item 4, first class):
dates, nulls, booleans where text is expected. Under `pulumi up` the CLI hands each to the program
as text (a date as Go writes it, `2026-01-01 00:00:00 +0000 UTC`; a boolean as `true`); the
loader (config/project.py `parse_value`) refuses them for every declared key, naming it, instead of
passing the text on or failing later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from config.errors import ConfigError, each
from config.project import SECRET_KEYS
from config.settings import KEYS, load_settings
from offline.cli_values import stack_value
from offline.go_yaml import GoTime
from offline.stack_config import resolve_stack_config

DATE = GoTime(datetime(2026, 1, 1, tzinfo=UTC), 0)
STRING_KEYS = sorted(name for name, k in KEYS.items() if k.type == "string" and not k.secret)
STRUCTURED_KEYS = sorted(name for name, k in KEYS.items() if k.type in ("object", "array"))


@cache
def stack(name: str) -> tuple[dict[str, str], str]:
    return resolve_stack_config(name)


def refused_keys(config: dict[str, str], name: str) -> set[str] | None:
    """The config keys `load_settings` refuses for `config` (None: it loads); any other exception fails."""
    config_, region = stack(name)
    try:
        load_settings({**config_, **config}, name, region)
    except ConfigError as err:
        return {e.key.split(".")[0] for e in each(err)}
    return None


def test_every_string_and_structured_key_is_covered() -> None:
    assert len(STRING_KEYS) + len(STRUCTURED_KEYS) + sum(k.type in ("integer", "boolean") for k in KEYS.values()) == (
        len(KEYS) - len(SECRET_KEYS)  # existingDbPassword and ssoClientSecret, secrets
    )


@pytest.mark.parametrize("key", STRING_KEYS)
@pytest.mark.parametrize("yaml", ["true", "false", "~", "2026-01-01", "2026-01-01T10:00:00Z"])
def test_a_string_key_refuses_what_yaml_reads_as_a_boolean_null_or_date(key: str, yaml: str) -> None:
    """What the CLI hands the program for `<key>: <yaml>` unquoted (a null: the CLI refuses a null for a
    string key itself; a tool that writes config may hand over `null` or `None`)."""
    from offline.go_yaml import resolve_plain

    text = stack_value(resolve_plain(yaml)).text
    for given in {text, "None"} if yaml == "~" else {text}:
        assert refused_keys({key: given}, "prod") == {key}, (key, given)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `value` a scalar may stand: its leaves, and `value` itself."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, child in children:
        yield from leaves(child, (*path, k))
    yield path


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return copy


def structured_values(key: str) -> Iterator[tuple[str, Any]]:
    """The key's value in dev and prod (or its default), and the stack it comes from."""
    for name in ("dev", "prod"):
        config, _ = stack(name)
        yield name, json.loads(config[key]) if key in config else KEYS[key].default


@pytest.mark.parametrize("key", STRUCTURED_KEYS)
def test_a_date_anywhere_in_a_structured_value_is_refused_naming_the_key(key: str) -> None:
    for name, value in structured_values(key):
        for path in set(leaves(value)):
            text = stack_value(replaced(value, path, DATE)).text
            assert refused_keys({key: text}, name) == {key}, (key, path)


@pytest.mark.parametrize("key", STRUCTURED_KEYS)
def test_a_null_or_boolean_in_a_structured_value_is_refused_naming_the_key_or_kept_as_such(key: str) -> None:
    """Helm values may hold null (remove a chart default) and booleans; elsewhere they are refused,
    naming the key, and never reach the settings as the text "None" or "null"."""
    for name, value in structured_values(key):
        for path in set(leaves(value)):
            for odd in (None, True, False):
                config = {key: stack_value(replaced(value, path, odd)).text}
                refused = refused_keys(config, name)
                if refused is None:
                    config_, region = stack(name)
                    settings = repr(load_settings({**config_, **config}, name, region))
                    assert "'None'" not in settings and "'null'" not in settings, (key, path, odd)
                else:
                    assert key in refused, (key, path, odd, refused)
