"""How a config key is declared: once, on the settings field it fills.

A section's field is declared with `key(...)`: the key's name, its default as the stack file
would write it, its description, how its value becomes the field's and when it applies. The
field's annotation gives the key's Pulumi type (`pulumi_type`). `config/settings.py` collects the
declarations of every section into `KEYS`; the loader, `Pulumi.yaml`'s `config:` block
(`scripts/project_config.py` writes it), the configuration reference (`scripts/config_docs.py`)
and the errors that name a key (`key_of`) all read them.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from config.errors import ConfigError, shown
from config.project import SECRET_KEYS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Convert = Callable[[str, Any], Any]
METADATA = "config_key"
"""Where `key()` puts a field's declaration in its metadata."""


def keep(key: str, value: Any) -> Any:
    return value


def as_tuple(key: str, value: Any) -> tuple[Any, ...]:
    return tuple(value)


def as_bool(key: str, value: Any) -> bool:
    return bool(value)


def str_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(key, f"{shown(value)} is not a map of strings to strings")
    return dict(value)


def enum_of(enum: type[Enum]) -> Convert:
    def convert(key: str, value: Any) -> Any:
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in enum)
            raise ConfigError(key, f"'{value}' is not one of: {choices}") from None

    return convert


def optional(convert: Convert) -> Convert:
    """An empty value is None (the key's default says what that means); others convert."""

    def optional_convert(key: str, value: Any) -> Any:
        return None if value in ("", None) else convert(key, value)

    return optional_convert


@dataclass(frozen=True)
class Key:
    """A config key as its field declares it; `section`, `field` and `type` are filled in by `declared`."""

    name: str
    default: Any
    """As the stack file would hold it (`Pulumi.yaml`'s default): a string, number, boolean, list or map."""
    description: str
    convert: Convert = keep
    only_with: str = ""
    """It applies only when this key is set (a value other than its default is an error otherwise)."""
    only_without: str = ""
    """It applies only when this key is empty (it configures what the program creates)."""
    required_with: str = ""
    """It must be set when this key is."""
    secret: bool = False
    """An optional secret `Pulumi.yaml` cannot declare (config/project.py `SECRET_KEYS` holds its declaration)."""
    type: str = ""
    """Its Pulumi type: `string`, `integer`, `boolean`, `array` (of strings) or `object`."""
    section: str = ""
    """The settings section (`Settings` attribute) it fills; `settings` for top-level fields."""
    field: str = ""


def key(
    name: str,
    default: Any,
    description: str,
    *,
    convert: Convert = keep,
    only_with: str = "",
    only_without: str = "",
    required_with: str = "",
    type: str = "",
) -> Any:
    """A settings field that a config key fills; its default is `default` converted."""
    spec = Key(name, default, " ".join(description.split()), convert, only_with, only_without, required_with, type=type)
    return dataclasses.field(default_factory=lambda: convert(name, copy.deepcopy(default)), metadata={METADATA: spec})


def secret_key(name: str, *, convert: Convert = as_bool, only_with: str = "", required_with: str = "") -> Any:
    """A field filled from one of `SECRET_KEYS` (declared in config/project.py, never in `Pulumi.yaml`)."""
    decl = SECRET_KEYS[name]
    spec = Key(name, decl.default, decl.description, convert, only_with, "", required_with, True, decl.type or "")
    return dataclasses.field(default_factory=lambda: convert(name, decl.default), metadata={METADATA: spec})


def pulumi_type(annotation: Any) -> str:
    """The Pulumi type of a field annotated `annotation` (a `X | None` field: X's)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (annotation,) = (a for a in args if a is not type(None))
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return "string"
    if origin is tuple and args == (str, ...):
        return "array"
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return "object"
    raise TypeError(f"no Pulumi type for a field of type {annotation}; declare it with key(..., type=...)")


def declared(section: type) -> list[Key]:
    """The keys `section`'s fields declare, in field order, with their section, field and type."""
    hints = typing.get_type_hints(section)
    return [
        dataclasses.replace(
            f.metadata[METADATA],
            section=section.SECTION,  # type: ignore[attr-defined]
            field=f.name,
            type=f.metadata[METADATA].type or pulumi_type(hints[f.name]),
        )
        for f in dataclasses.fields(section)
        if METADATA in f.metadata
    ]


def key_of(section: DataclassInstance | type[DataclassInstance], field: str) -> str:
    """The config key that fills `field` of `section` (a settings class or instance)."""
    spec: Key = next(f for f in dataclasses.fields(section) if f.name == field).metadata[METADATA]
    return spec.name


REPLACED_KEYS = {
    "availabilityZones": "availabilityZoneIds: zone IDs such as use1-az1, the same physical zones in every account",
}
