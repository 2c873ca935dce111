"""Aliases for resources that moved between components, so that an existing stack keeps them.

A resource whose parent changes gets a new URN; without an alias, `pulumi up` would create the
new one and delete the old one (a replacement). UPGRADING.md lists what moved.
"""

from __future__ import annotations

import pulumi


def former_parent(component_type: str, component_name: str) -> pulumi.Alias:
    """An alias to the URN a child had under component `component_type` named `component_name`
    (the child keeps its name)."""
    return pulumi.Alias(parent=pulumi.create_urn(component_name, component_type))
