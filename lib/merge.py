"""Helm values from parts: the program's fragments, each value owned by one, then the user's overrides.

Two rules, both over plain values (docs/architecture.md, "Chart values", says them for users):

- `compose`: the program's fragments (placement, hardening, telemetry, ...). Each leaf (a scalar,
  or a list outside the list keys) has exactly one owning fragment: two fragments setting it is
  an error, so no fragment silently undoes another. At a list key (`ListKeys`: where the chart
  appends the entries to its own, such as a container's `env`) the fragments' entries are
  concatenated: entries with the same identity (`name`, ...) are composed with the same rule,
  exact duplicates kept once.
- `deep_merge`: the user's overrides over those values, as Helm merges a values file over a
  chart's values: maps merge key by key, a scalar replaces, `null` removes the key. At a list key,
  the user's entries are added to the program's instead of replacing them: one with the identity
  of a program entry replaces it in place, one equal to an entry is kept once, the others are
  appended. Without list keys it is Helm's merge exactly.

A fragment marks the values the user may not override with `owned(value, via)`, where it sets
them: `compose` records the path (a whole subtree for a map), and `refusals` finds the overrides
that would change one (set it or anything under it, or remove or replace a parent), each with
`via`, the config key that sets it (or why it is the program's).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ListKeys:
    """The keys, wherever they are in the values, whose lists accumulate entries, and what
    identifies an entry of each (`identity`; None: unnamed, an entry is only equal or not)."""

    identity: Mapping[str, str | None] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.identity

    @classmethod
    def of(cls, named: Collection[str] = (), unnamed: Collection[str] = (), **by: str) -> ListKeys:
        """`named` lists are identified by `name`, `unnamed` ones not at all, `by` maps a key to its field."""
        return cls({**dict.fromkeys(named, "name"), **dict.fromkeys(unnamed), **by})


NO_LIST_KEYS = ListKeys()


class OwnershipError(ValueError):
    """Two of the program's fragments set the same value."""


@dataclass(frozen=True)
class Owned:
    """A value of a fragment that overrides may not change (`owned`)."""

    value: Any
    via: str
    """How to set it instead: the config key (`set airflowSchedulerReplicas`), or why it is the program's."""


def owned(value: Any, via: str) -> Owned:
    """Mark `value` (a map: its whole subtree) as the program's; `via` says how to set it instead."""
    return Owned(value, via)


def _identity(entry: Any, key: str | None) -> Any:
    """The entry's `key` field, or None (an unnamed list, or an entry without one)."""
    return entry.get(key) if key is not None and isinstance(entry, Mapping) else None


def _label(entry: Any, key: str | None) -> str:
    identity = _identity(entry, key)
    return "?" if identity is None else str(identity)


def _position(entries: Sequence[Any], entry: Any, key: str | None) -> int | None:
    """Where an entry with `entry`'s identity (or, unnamed, equal to it) is in `entries`."""
    identity = _identity(entry, key)
    for i, existing in enumerate(entries):
        if existing == entry or (identity is not None and _identity(existing, key) == identity):
            return i
    return None


Path = tuple[str, ...]


def _dotted(path: Path) -> str:
    return "".join(part if part.startswith("[") else f".{part}" for part in path).lstrip(".")


class _Composer:
    """Composes fragments one after the other, remembering which one set each value."""

    def __init__(self, lists: ListKeys) -> None:
        self.lists = lists
        self.owners: dict[Path, str] = {}
        self.owned: dict[Path, str] = {}
        self.fragment = ""

    def conflict(self, path: Path) -> OwnershipError:
        owner = next(self.owners[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.owners)
        return OwnershipError(f"`{_dotted(path)}` is set by both {owner} and {self.fragment}: each value has one owner")

    def new(self, path: Path, value: Any) -> Any:
        self.owners[path] = self.fragment
        return self.unwrap(path, value)

    def unwrap(self, path: Path, value: Any) -> Any:
        """`value` without its `Owned` marks, each recorded at its path (maps only: not list entries)."""
        if isinstance(value, Owned):
            self.owned[path] = value.via
            value = value.value
        if isinstance(value, Mapping):
            return {k: self.unwrap((*path, k), v) for k, v in value.items()}
        return copy.deepcopy(value)

    def entries(self, path: Path, base: list[Any], added: Sequence[Any], key: str | None) -> list[Any]:
        merged = list(base)
        for entry in added:
            here = (*path, f"[{_label(entry, key)}]")
            i = _position(merged, entry, key)
            if i is None:
                merged.append(self.new(here, entry))
            elif merged[i] != entry:
                # Same identity, other content: the entry's own fields have one owner each.
                merged[i] = self.maps(here, merged[i], {k: v for k, v in entry.items() if k != key})
        return merged

    def maps(self, path: Path, base: Mapping[str, Any], fragment: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(base)
        for key, value in fragment.items():
            here = (*path, key)
            current = merged.get(key)
            if isinstance(value, Owned) and isinstance(current, Mapping) and isinstance(value.value, Mapping):
                self.owned[here] = value.via  # a subtree another fragment began: owned from here down
                value = value.value
            if key not in merged:
                merged[key] = self.new(here, value)
            elif isinstance(current, Mapping) and isinstance(value, Mapping):
                merged[key] = self.maps(here, current, value)
            elif key in self.lists and isinstance(current, list) and isinstance(value, list):
                merged[key] = self.entries(here, current, value, self.lists.identity[key])
            else:
                raise self.conflict(here)
        return merged


def compose_owned(
    fragments: Sequence[tuple[str, Mapping[str, Any]]], lists: ListKeys = NO_LIST_KEYS
) -> tuple[dict[str, Any], dict[Path, str]]:
    """`compose`'s values, and the paths the fragments marked `owned`, each with its `via`."""
    composer = _Composer(lists)
    merged: dict[str, Any] = {}
    for name, fragment in fragments:
        composer.fragment = name
        merged = composer.maps((), merged, fragment)
    return merged, composer.owned


def compose(fragments: Sequence[tuple[str, Mapping[str, Any]]], lists: ListKeys = NO_LIST_KEYS) -> dict[str, Any]:
    """The program's values from named fragments, each leaf owned by one (see the module docstring).

    Raises `OwnershipError` naming the path and the two fragments when two set the same leaf.
    The fragments are not modified; `owned` marks are dropped (`compose_owned` returns them).
    """
    return compose_owned(fragments, lists)[0]


def dotted(path: Path) -> str:
    """A values path as the user writes it: `scheduler.replicas`."""
    return _dotted(path)


def refusals(owned: Mapping[Path, str], overrides: Mapping[str, Any]) -> list[tuple[Path, Path, str]]:
    """The overrides that would change an owned value: (where the user's value is, the owned path,
    its `via`), in the owned paths' order. An override changes it by setting it or anything under
    it (even to the same value: the program's would silently win or lose on its next change), or by
    setting a parent to `null` (removed) or to something other than a map (replaced)."""
    found = []
    for path, via in owned.items():
        node: Any = overrides
        for depth, key in enumerate(path):
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
            if depth == len(path) - 1 or not isinstance(node, Mapping):
                found.append((path[: depth + 1], path, via))
                break
    return found


def _merge_lists(base: list[Any], added: Sequence[Any], key: str | None) -> list[Any]:
    merged = copy.deepcopy(base)
    for entry in added:
        i = _position(merged, entry, key)
        if i is None:
            merged.append(copy.deepcopy(entry))
        else:
            merged[i] = copy.deepcopy(entry)
    return merged


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any], lists: ListKeys = NO_LIST_KEYS) -> dict[str, Any]:
    """`base` overlaid with `override`, as Helm merges a values file over a chart's values.

    Maps merge key by key, recursively; a `None` in `override` removes the key, as `null` does in
    Helm; at a key of `lists`, a list in `override` adds its entries to the list in `base` (an
    entry with the identity of one there replaces it in place; an equal one is kept once); any
    other value in `override` (a list elsewhere, a scalar) replaces the one in `base`.
    Neither argument is modified.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping):
            merged[key] = deep_merge(current if isinstance(current, Mapping) else {}, value, lists)
        elif key in lists and isinstance(value, list) and isinstance(current, list):
            merged[key] = _merge_lists(current, value, lists.identity[key])
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ValuesError(ValueError):
    """The user's values are refused; `path` is where in them, the message what to do instead."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


class OverrideError(ValuesError):
    """The user's values would change a value the program owns; `path` is where the user set it."""

    def __init__(self, path: Path, owned_path: Path, via: str) -> None:
        what = "is" if path == owned_path else f"would remove or replace `{_dotted(owned_path)}`, which is"
        super().__init__(path, f"{what} the program's: {via}")
        self.owned_path, self.via = owned_path, via


def merge_overrides(
    program: Mapping[str, Any], owned: Mapping[Path, str], overrides: Mapping[str, Any], lists: ListKeys = NO_LIST_KEYS
) -> dict[str, Any]:
    """`deep_merge` of the user's overrides, after refusing the first that would change an owned
    value (`refusals`) with an `OverrideError`."""
    for path, owned_path, via in refusals(owned, overrides):
        raise OverrideError(path, owned_path, via)
    return deep_merge(program, overrides, lists)
