"""Deep merge of Helm values, with Helm's own rules, so user overrides apply last."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` overlaid with `override`, as Helm merges a values file over a chart's values.

    Maps merge key by key, recursively; any other value in `override` (a list, a scalar)
    replaces the one in `base`; a `None` in `override` removes the key, as `null` does in Helm.
    Neither argument is modified.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping):
            current = merged.get(key)
            merged[key] = deep_merge(current if isinstance(current, Mapping) else {}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
