"""The `nodeGroups` config map: name -> a node group's fields, parsed into `lib.cluster.node_groups.NodeGroup`.

A node group validates itself (naming its field); errors name the nested key they come from,
such as `nodeGroups.workers.minSize`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from config.errors import ConfigError
from lib.cluster.node_groups import (
    MAX_TAGS,
    NAME_FORMAT,
    OWN_TAGS,
    REQUIRED_ROLES,
    CapacityType,
    InvalidField,
    NodeGroup,
    Taint,
    TaintEffect,
)

FIELDS = {
    "instanceTypes": "instance_types",
    "capacityType": "capacity_type",
    "minSize": "min_size",
    "desiredSize": "desired_size",
    "maxSize": "max_size",
    "diskSizeGib": "disk_size_gib",
    "labels": "labels",
    "taints": "taints",
    "taskQueue": "task_queue",
}
"""Key of a node group's field in the config map -> field of `NodeGroup`."""
_KEY_OF = {f: k for k, f in FIELDS.items()} | {"name": ""}
REQUIRED = ("instanceTypes", "minSize", "desiredSize", "maxSize")
DEFAULT_NODE_GROUPS = {
    "system": {
        "instanceTypes": ["m6i.large"],
        "capacityType": "ON_DEMAND",
        "minSize": 2,
        "desiredSize": 3,
        "maxSize": 4,
        "diskSizeGib": 50,
    },
    "airflow": {
        "instanceTypes": ["m6i.xlarge"],
        "capacityType": "ON_DEMAND",
        "minSize": 3,
        "desiredSize": 3,
        "maxSize": 6,
        "diskSizeGib": 50,
    },
    "workers": {
        "instanceTypes": ["m6i.xlarge", "m6a.xlarge"],
        "capacityType": "ON_DEMAND",
        "minSize": 1,
        "desiredSize": 2,
        "maxSize": 20,
        "diskSizeGib": 100,
        "taints": [{"key": "airflow.apache.org/workers", "value": "true", "effect": "NO_SCHEDULE"}],
    },
}
"""`nodeGroups`' default, as a stack file would write it: the prod profile."""


def _object(key: str, value: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(key, f"{json.dumps(value)} is not an object")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"is not a known field; accepted: {', '.join(sorted(fields))}")
    return value


def _typed(key: str, value: Any, kind: type, label: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"{json.dumps(value)} is not {label}")
    return value


def _enum(key: str, enum: type[Enum], value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(key, f"'{value}' is not one of: {', '.join(str(m.value) for m in enum)}") from None


def _taints(key: str, value: Any) -> tuple[Taint, ...]:
    taints = []
    for i, taint in enumerate(_typed(key, value, list, "a list of taints")):
        tkey = f"{key}[{i}]"
        taint = _object(tkey, taint, {"key": 0, "value": 0, "effect": 0})
        taints.append(
            Taint(
                key=_typed(f"{tkey}.key", taint.get("key"), str, "a string"),
                value=_typed(f"{tkey}.value", taint.get("value", ""), str, "a string"),
                effect=_enum(f"{tkey}.effect", TaintEffect, taint.get("effect")),
            )
        )
    return tuple(taints)


def _labels(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(key, f"{json.dumps(value)} is not a map of strings to strings")
    return dict(value)


def parse_node_group(key: str, name: str, spec: Any) -> NodeGroup:
    spec = _object(key, spec, FIELDS)
    for required in REQUIRED:
        if required not in spec:
            raise ConfigError(f"{key}.{required}", "is required")
    types = _typed(f"{key}.instanceTypes", spec["instanceTypes"], list, "a list of instance types")
    try:
        return NodeGroup(
            name=name,
            instance_types=tuple(_typed(f"{key}.instanceTypes", t, str, "an instance type") for t in types),
            capacity_type=_enum(f"{key}.capacityType", CapacityType, spec.get("capacityType", "ON_DEMAND")),
            min_size=_typed(f"{key}.minSize", spec["minSize"], int, "an integer"),
            desired_size=_typed(f"{key}.desiredSize", spec["desiredSize"], int, "an integer"),
            max_size=_typed(f"{key}.maxSize", spec["maxSize"], int, "an integer"),
            disk_size_gib=_typed(f"{key}.diskSizeGib", spec.get("diskSizeGib", 50), int, "an integer"),
            labels=_labels(f"{key}.labels", spec.get("labels", {})),
            taints=_taints(f"{key}.taints", spec.get("taints", [])),
            task_queue=_typed(f"{key}.taskQueue", spec.get("taskQueue", ""), str, "a string"),
        )
    except InvalidField as err:
        field_key = f"{key}.{_KEY_OF[err.field]}" if _KEY_OF[err.field] else key
        raise ConfigError(field_key, err.message) from None


def parse_node_groups(key: str, value: Any) -> tuple[NodeGroup, ...]:
    """`nodeGroups`: name -> fields, in the order given."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(key, f"is empty or not a map of node groups; required groups: {', '.join(REQUIRED_ROLES)}")
    for name in value:
        if not isinstance(name, str):  # a YAML key such as `1:` or `true:` arrives as a number or boolean
            raise ConfigError(key, f"a node group name is a {type(name).__name__}, not a string of {NAME_FORMAT}")
    return tuple(parse_node_group(f"{key}.{name}", name, spec) for name, spec in value.items())


def check_node_group_tags(key: str, groups: tuple[NodeGroup, ...], extra_tags: int) -> None:
    """Each group's tags within AWS's 50: the program's own, `extra_tags` (the user's `tags` and one
    per policy waiver, on every resource) and an autoscaler node-template tag per label and taint."""
    for group in groups:
        total = OWN_TAGS + extra_tags + group.template_tag_count
        if total > MAX_TAGS:
            raise ConfigError(
                f"{key}.{group.name}.{'labels' if group.labels else 'taints'}",
                f"{len(group.labels)} labels and {len(group.taints)} taints give the node group {total} tags with "
                f"the {extra_tags} of tags and policyWaivers and the program's {OWN_TAGS}; AWS accepts {MAX_TAGS}",
            )
