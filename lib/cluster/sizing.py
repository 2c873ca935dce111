"""The committed sizing tables (`sizing/`), and a worker group's task capacity read from them.

`sizing/aws-prices.json` (prices, with the source and date of each), `sizing/instance-types.json`
(EC2 shapes) and `sizing/assumptions.json` (usage and capacity figures the plan cannot show, each
with its reason, optionally per stack).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.cluster.capacity import (
    NodeOverhead,
    Shape,
    Workers,
    node_limit,
)
from lib.cluster.daemonsets import NodeDaemonSet, describe, node_daemonsets, totals

SIZING_DIR = Path(__file__).resolve().parents[2] / "sizing"


def load_table(name: str, sizing_dir: Path = SIZING_DIR) -> dict[str, Any]:
    return dict(json.loads((sizing_dir / name).read_text()))


@dataclass(frozen=True)
class Assumptions:
    usage: dict[str, float]
    capacity: dict[str, float]


def assumptions_for(stack: str, table: Mapping[str, Any]) -> Assumptions:
    """The usage figures of `stack` (its own over the defaults) and the capacity figures."""
    usage = {**table["usage"]["default"], **table["usage"]["stacks"].get(stack, {})}
    return Assumptions(
        usage={k: float(v["value"]) for k, v in usage.items()},
        capacity={k: float(v["value"]) for k, v in table["capacity"].items()},
    )


def shape_of(instance_type: str, shapes: Mapping[str, Any]) -> Shape:
    if instance_type not in shapes["instance_types"]:
        raise ValueError(
            f"EC2 instance type {instance_type} is not in sizing/instance-types.json; add its vCPUs, memory, "
            "interfaces and addresses per interface"
        )
    return Shape(**shapes["instance_types"][instance_type])


def node_overhead(assumed: Assumptions, daemonsets: Iterable[NodeDaemonSet]) -> NodeOverhead:
    """What every node keeps from pods besides the kubelet's reservations: the DaemonSets of the
    add-ons the stack runs (lib/cluster/daemonsets.py), the OS's share and the eviction threshold."""
    a = assumed.capacity
    listed = list(daemonsets)
    pods, cpu, memory = totals(listed)
    return NodeOverhead(
        daemonset_pods=pods,
        daemonset_cpu_m=cpu,
        daemonset_memory_mi=memory,
        os_memory_overhead=a["os_memory_overhead"],
        eviction_memory_mi=int(a["eviction_memory_mi"]),
        daemonsets=describe(listed),
    )


def node_task_capacity(
    instance_types: Sequence[str],
    max_nodes: int,
    task_cpu_m: int,
    task_memory_mi: int,
    addons: Iterable[str],
    sizing_dir: Path = SIZING_DIR,
    task_gpus: int = 0,
) -> int:
    """The nodes' limit of the capacity model (`make cost`'s "nodes" line) from a worker group's
    settings and the EKS add-ons the stack runs (their DaemonSets): what the program sizes Airflow's
    `default_pool` and parallelism with."""
    shapes = load_table("instance-types.json", sizing_dir)
    assumed = assumptions_for("default", load_table("assumptions.json", sizing_dir))
    workers = Workers(
        shapes={t: shape_of(t, shapes) for t in instance_types},
        max_nodes=max_nodes,
        task_cpu_m=task_cpu_m,
        task_memory_mi=task_memory_mi,
        task_gpus=task_gpus,
    )
    return node_limit(workers, node_overhead(assumed, node_daemonsets(addons, strict=False))).tasks


def has_shapes(instance_types: Sequence[str], sizing_dir: Path = SIZING_DIR) -> bool:
    known = load_table("instance-types.json", sizing_dir)["instance_types"]
    return all(t in known for t in instance_types)
