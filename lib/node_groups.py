"""A managed node group as plain data: what the NodeGroups component creates and pods select.

It validates itself: an invalid field raises `InvalidField` naming the field, which the
settings loader turns into an error naming the config key (`nodeGroups.<name>.<key>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
MAX_NODES = 1000
DISK_GIB = (20, 16384)


class InvalidField(ValueError):
    """`field` of a node group holds a value EKS or Kubernetes would refuse."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CapacityType(StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NO_SCHEDULE"
    NO_EXECUTE = "NO_EXECUTE"
    PREFER_NO_SCHEDULE = "PREFER_NO_SCHEDULE"

    @property
    def kubernetes(self) -> str:
        """The effect as Kubernetes spells it in a toleration (`NoSchedule`, ...)."""
        return "".join(part.capitalize() for part in self.value.split("_"))


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: TaintEffect


def is_arm(instance_type: str) -> bool:
    """Graviton families: a1, and a digit then `g` (m6g, c7gn, t4g, r8gd)."""
    family = instance_type.split(".")[0]
    return family == "a1" or re.match(r"^[a-z]+\d+g", family) is not None


def valid_label(key: str, value: str) -> bool:
    """A Kubernetes label (or taint) key and value."""
    return bool(_LABEL_KEY.match(key) and _LABEL_VALUE.match(value))


@dataclass(frozen=True)
class NodeGroup:
    """One managed node group."""

    name: str
    """Its name, unique in the cluster (1 to 20 lowercase letters, digits or `-`)."""
    instance_types: tuple[str, ...]
    """EC2 instance types, all of one architecture (several spread spot capacity)."""
    min_size: int
    desired_size: int
    """Nodes at creation; the cluster autoscaler owns it afterwards."""
    max_size: int
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    disk_size_gib: int = 50
    labels: Mapping[str, str] = field(default_factory=dict)
    """Node labels, besides the group label every node gets."""
    taints: tuple[Taint, ...] = ()

    @property
    def ami_type(self) -> str:
        """Amazon Linux 2023 for the instance types' architecture."""
        return "AL2023_ARM_64_STANDARD" if is_arm(self.instance_types[0]) else "AL2023_x86_64_STANDARD"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidField("name", "a node group name is 1 to 20 lowercase letters, digits or '-'")
        if not self.instance_types:
            raise InvalidField("instance_types", "is empty; list at least one EC2 instance type")
        for itype in self.instance_types:
            if not _INSTANCE_TYPE.match(itype):
                raise InvalidField("instance_types", f"'{itype}' is not an EC2 instance type such as m6i.large")
        if len({is_arm(t) for t in self.instance_types}) > 1:
            raise InvalidField(
                "instance_types", f"{list(self.instance_types)} mixes Graviton (arm64) and x86_64 types; use one"
            )
        for size_field, size, low in (("min_size", self.min_size, 0), ("max_size", self.max_size, 1)):
            if not low <= size <= MAX_NODES:
                raise InvalidField(size_field, f"{size} is outside the accepted range {low} to {MAX_NODES}")
        if self.min_size > self.max_size:
            raise InvalidField("min_size", f"{self.min_size} is greater than maxSize {self.max_size}")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise InvalidField(
                "desired_size", f"{self.desired_size} is outside minSize..maxSize ({self.min_size}..{self.max_size})"
            )
        if not DISK_GIB[0] <= self.disk_size_gib <= DISK_GIB[1]:
            raise InvalidField(
                "disk_size_gib", f"{self.disk_size_gib} is outside the accepted range {DISK_GIB[0]} to {DISK_GIB[1]}"
            )
        for key, value in self.labels.items():
            if not valid_label(key, value):
                raise InvalidField("labels", f"'{key}: {value}' is not a valid Kubernetes label")
        for taint in self.taints:
            if not valid_label(taint.key, taint.value):
                raise InvalidField("taints", f"'{taint.key}={taint.value}' is not a valid taint key and value")
