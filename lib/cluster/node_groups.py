"""A managed node group as plain data: what the NodeGroups component creates and pods select.

It validates itself: an invalid field raises `InvalidField` naming the field, which the
settings loader turns into an error naming the config key (`nodeGroups.<name>.<key>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lib.aws_catalog import instance_type_problem
from lib.kubernetes_names import label_key_problem, label_value_problem, node_label_key_problem
from lib.naming import slug

# A group's name is a label value, part of resource names and of the EKS node group's name
# (1-63 of [0-9A-Za-z][A-Za-z0-9-_]*): lowercase, at most 20, ending with a letter or digit.
_NAME = re.compile(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?")
NAME_FORMAT = "1 to 20 lowercase letters, digits or '-', beginning with a letter and ending with a letter or digit"
MAX_NODES = 1000
DISK_GIB = (20, 16384)
NODE_GROUP_LABEL = "airflow-eks/node-group"
"""The label every node of a group gets, with the group's name; Airflow pods select nodes by it."""
EKS_KEY_MAX = 63
"""The EKS API's limit on a label key and a taint key, prefix included (API Reference: Taint,
UpdateLabelsPayload), tighter than Kubernetes' 253 + 63."""
MAX_TAINTS = 50
"""Taints per managed node group (EKS quota)."""
MAX_TAGS = 50
"""Tags AWS allows on an EKS node group (and on its Auto Scaling group)."""
OWN_TAGS = 5
"""The program's own tags on a node group besides the autoscaler's: project, stack, managed-by,
airflow-eks:production and Name (the user's `tags` and waivers come on top: config/node_groups.py)."""
MAX_TEMPLATE_TAGS = MAX_TAGS - OWN_TAGS
"""Autoscaler node-template tags a group may carry: one per label (the group label too) and taint."""
DEFAULT_QUEUE = "default"
"""Airflow's `[operators] default_queue` (3.3.2 config.yml): a task without `queue=` is in it, and
its pods run on the `workers` group; another group takes a queue of its own (`task_queue`)."""
_QUEUE = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")
QUEUE_FORMAT = "1 to 63 lowercase letters, digits, '-' or '_', beginning and ending with a letter or digit"
NVIDIA_GPU_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"})
"""x86_64 EC2 families with NVIDIA GPUs (EC2 accelerated computing instance types): the EKS
AL2023 NVIDIA AMI (`AL2023_x86_64_NVIDIA`: driver and container toolkit) runs them."""
GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource the NVIDIA device plugin advertises (k8s-device-plugin v0.20.0)."""


class NodeGroupRole(StrEnum):
    """The node groups every stack has (`nodeGroups.<role>`), named for what runs on them; a stack
    may add groups of its own beside them."""

    SYSTEM = "system"
    """The cluster's add-ons (CoreDNS, the load balancer controller, the autoscaler, ...)."""
    AIRFLOW = "airflow"
    """Airflow's control plane, PgBouncer and the Jobs: the only database clients."""
    WORKERS = "workers"
    """Task pods only (a NO_SCHEDULE or NO_EXECUTE taint keeps everything else off)."""


REQUIRED_ROLES = tuple(NodeGroupRole)
"""The groups a stack's `nodeGroups` must hold."""


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
    return family == "a1" or re.match(r"[a-z]+[0-9]+g", family) is not None


def is_nvidia_gpu(instance_type: str) -> bool:
    return instance_type.split(".")[0] in NVIDIA_GPU_FAMILIES


def valid_label(key: str, value: str) -> bool:
    """A Kubernetes label (or taint) key and value."""
    return label_key_problem(key) is None and label_value_problem(value) is None


def _label_problem(key: str, value: str) -> str | None:
    """A node label EKS, kubelet and Kubernetes all accept; EKS refuses empty values."""
    if key == NODE_GROUP_LABEL:
        return f"'{key}' is the program's own label (the group's name); choose another key"
    if len(key) > EKS_KEY_MAX:
        return f"'{key}' is longer than the {EKS_KEY_MAX} characters EKS accepts for a label key"
    if not value:
        return f"'{key}' has an empty value, which EKS refuses; give 1 to 63 characters"
    return node_label_key_problem(key) or label_value_problem(value)


def _taint_problem(taint: Taint) -> str | None:
    if len(taint.key) > EKS_KEY_MAX:
        return f"'{taint.key}' is longer than the {EKS_KEY_MAX} characters EKS accepts for a taint key"
    return label_key_problem(taint.key) or label_value_problem(taint.value)


def _slug_clash(kind: str, keys: list[str]) -> str | None:
    """Two keys giving one autoscaler tag resource name (`<group>-asg-tag-<kind>-<slug>`)."""
    seen: dict[str, str] = {}
    for key in keys:
        other = seen.setdefault(slug(f"{kind}/{key}"), key)
        if other != key:
            return f"'{other}' and '{key}' differ only in case or punctuation; the program names a resource after each"
    return None


@dataclass(frozen=True)
class NodeGroup:
    """One managed node group."""

    name: str
    """Its name, unique in the cluster (see `NAME_FORMAT`)."""
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
    task_queue: str = ""
    """The Airflow queue whose task pods run here ("" for none: the `workers` group runs
    `DEFAULT_QUEUE`); lib/airflow/queues.py routes a task of that queue to the group."""

    @property
    def gpu(self) -> bool:
        """Its instance types have NVIDIA GPUs (all or none of them)."""
        return is_nvidia_gpu(self.instance_types[0])

    @property
    def template_tag_count(self) -> int:
        """Autoscaler node-template tags on the group: its labels, the group label, its taints."""
        return len(self.labels) + 1 + len(self.taints)

    @property
    def ami_type(self) -> str:
        """Amazon Linux 2023 for the instance types' architecture; its NVIDIA variant for GPU types."""
        if self.gpu:
            return "AL2023_x86_64_NVIDIA"
        return "AL2023_ARM_64_STANDARD" if is_arm(self.instance_types[0]) else "AL2023_x86_64_STANDARD"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InvalidField("name", f"'{self.name}' is not a node group name: {NAME_FORMAT}")
        if not self.instance_types:
            raise InvalidField("instance_types", "is empty; list at least one EC2 instance type")
        for itype in self.instance_types:
            problem = instance_type_problem(itype)
            if problem:
                raise InvalidField("instance_types", problem)
        if len(set(self.instance_types)) < len(self.instance_types):
            raise InvalidField("instance_types", f"{list(self.instance_types)} lists a type twice")
        if len({is_arm(t) for t in self.instance_types}) > 1:
            raise InvalidField(
                "instance_types", f"{list(self.instance_types)} mixes Graviton (arm64) and x86_64 types; use one"
            )
        if len({is_nvidia_gpu(t) for t in self.instance_types}) > 1:
            raise InvalidField(
                "instance_types", f"{list(self.instance_types)} mixes NVIDIA GPU and other types; they take other AMIs"
            )
        if self.task_queue and not _QUEUE.fullmatch(self.task_queue):
            raise InvalidField("task_queue", f"'{self.task_queue}' is not a queue name: {QUEUE_FORMAT}")
        if self.gpu and not self.task_queue:
            raise InvalidField(
                "task_queue",
                f"is required on a group of GPU types ({', '.join(self.instance_types)}): only tasks of its queue "
                "request the GPU; name one",
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
        self._check_labels_and_taints()

    def _check_labels_and_taints(self) -> None:
        for key, value in self.labels.items():
            problem = _label_problem(key, value)
            if problem:
                raise InvalidField("labels", problem)
        clash = _slug_clash("label", [*self.labels, NODE_GROUP_LABEL])
        if clash:
            raise InvalidField("labels", clash)
        if len(self.taints) > MAX_TAINTS:
            raise InvalidField("taints", f"has {len(self.taints)} taints; EKS accepts at most {MAX_TAINTS}")
        keys = [t.key for t in self.taints]
        for taint in self.taints:
            problem = _taint_problem(taint)
            if problem:
                raise InvalidField("taints", problem)
            if keys.count(taint.key) > 1:
                raise InvalidField(
                    "taints",
                    f"'{taint.key}' appears more than once; the autoscaler's node-template tag "
                    f"(k8s.io/cluster-autoscaler/node-template/taint/{taint.key}) holds one value and effect per key",
                )
        clash = _slug_clash("taint", keys)
        if clash:
            raise InvalidField("taints", clash)
        if self.template_tag_count > MAX_TEMPLATE_TAGS:
            raise InvalidField(
                "labels" if self.labels else "taints",
                f"{len(self.labels)} labels and {len(self.taints)} taints make {self.template_tag_count} autoscaler "
                f"node-template tags with the group label; at most {MAX_TEMPLATE_TAGS} fit in AWS's {MAX_TAGS} tags "
                f"with the program's own {OWN_TAGS}",
            )
