"""Component outputs: every public attribute a component class annotates is one of its outputs."""

from __future__ import annotations

import inspect

import pulumi


def camel(name: str) -> str:
    """`node_role_arn` -> `nodeRoleArn`."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def output_names(component_type: type) -> list[str]:
    """The public attributes `component_type` annotates (its documented outputs)."""
    return [n for n in inspect.get_annotations(component_type) if not n.startswith("_")]


def register_public_outputs(component: pulumi.ComponentResource) -> None:
    """`register_outputs` with every output of the component, under its camelCase name: call it
    once, last, when every attribute is set."""
    component.register_outputs({camel(n): getattr(component, n) for n in output_names(type(component))})
