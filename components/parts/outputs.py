"""Component outputs: every public attribute a component class annotates is one of its outputs,
but for the resources it exposes as handles (to depend on, or to read from), which are not values."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pulumi


def camel(name: str) -> str:
    """`node_role_arn` -> `nodeRoleArn`."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def is_handle(value: Any) -> bool:
    """A resource, or a non-empty collection of resources only."""
    if isinstance(value, pulumi.Resource):
        return True
    items = list(value.values()) if isinstance(value, Mapping) else value if isinstance(value, list | tuple) else []
    return bool(items) and all(isinstance(item, pulumi.Resource) for item in items)


def public_outputs(component: pulumi.ComponentResource) -> dict[str, Any]:
    """The annotated public attributes of `component` that are values, by camelCase name."""
    names = [n for n in inspect.get_annotations(type(component)) if not n.startswith("_")]
    return {camel(n): v for n in names if not is_handle(v := getattr(component, n))}


def register_public_outputs(component: pulumi.ComponentResource) -> None:
    """`register_outputs` with `public_outputs`: call it once, last, when every attribute is set."""
    component.register_outputs(public_outputs(component))
