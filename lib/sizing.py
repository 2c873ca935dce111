"""The committed sizing tables (`sizing/`), and the capacity model run on a plan.

`sizing/aws-prices.json` (prices, with the source and date of each), `sizing/instance-types.json`
(EC2 shapes) and `sizing/assumptions.json` (usage and capacity figures the plan cannot show, each
with its reason, optionally per stack).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.capacity import (
    Addresses,
    Airflow,
    Limit,
    NodeOverhead,
    Shape,
    Timing,
    Workers,
    binding_limit,
    node_limit,
    task_limits,
)
from lib.plan_facts import (
    Plan,
    airflow_release_values,
    cpu_millicores,
    memory_mebibytes,
    node_groups,
    node_subnet_addresses,
    pgbouncer_server_connections,
)

SIZING_DIR = Path(__file__).resolve().parent.parent / "sizing"


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


@dataclass(frozen=True)
class Capacity:
    limits: list[Limit]

    @property
    def binding(self) -> Limit:
        return binding_limit(self.limits)

    @property
    def max_concurrent_tasks(self) -> int:
        return self.binding.tasks


def _setting(values: Mapping[str, Any], section: str, key: str, default: float) -> int:
    return int(values.get("config", {}).get(section, {}).get(key, default))


def capacity(plan: Plan, shapes: Mapping[str, Any], assumed: Assumptions) -> Capacity:
    """The capacity model (lib/capacity.py) with the plan's worker group, Airflow values and subnets."""
    a = assumed.capacity
    groups = node_groups(plan)
    task_groups = [g for g in groups if g.for_tasks]
    if len(task_groups) != 1:
        raise ValueError(f"the plan has {len(task_groups)} tainted task node groups; the model reads exactly one")
    workers_group = task_groups[0]
    values = airflow_release_values(plan)
    requests = values["workers"]["kubernetes"]["resources"]["requests"]
    workers = Workers(
        shapes={t: shape_of(t, shapes) for t in workers_group.instance_types},
        max_nodes=workers_group.max_size,
        task_cpu_m=cpu_millicores(requests["cpu"]),
        task_memory_mi=memory_mebibytes(requests["memory"]),
    )
    pgbouncer = int(values["pgbouncer"]["replicas"]) if values.get("pgbouncer", {}).get("enabled") else 0
    airflow = Airflow(
        schedulers=int(values["scheduler"]["replicas"]),
        parallelism=_setting(values, "core", "parallelism", a["parallelism_default"]),
        pool_slots=_setting(values, "core", "default_pool_task_slot_count", a["pool_slots_default"]),
        batch_size=_setting(values, "kubernetes_executor", "worker_pods_creation_batch_size", a["batch_size_default"]),
        api_servers=int(values["apiServer"]["replicas"]),
        api_workers=_setting(values, "api", "workers", a["api_workers"]),
        sqlalchemy_connections=int(a["sqlalchemy_connections"]),
        pgbouncer_server_connections=pgbouncer_server_connections(plan, pgbouncer) if pgbouncer else None,
    )
    others = [g for g in groups if not g.for_tasks]
    addresses = Addresses(
        free=node_subnet_addresses(plan, int(a["subnet_reserved_ips"])),
        other_nodes=sum(g.max_size for g in others),
        other_node_addresses=max((shape_of(t, shapes).addresses for g in others for t in g.instance_types), default=0),
    )
    timing = Timing(
        a["heartbeat_seconds"], a["api_request_seconds"], a["scheduler_loop_seconds"], a["mean_task_minutes"]
    )
    return Capacity(task_limits(workers, airflow, timing, addresses, node_overhead(assumed)))


def node_overhead(assumed: Assumptions) -> NodeOverhead:
    """What every node keeps from pods besides the kubelet's reservations (the DaemonSets, the OS)."""
    a = assumed.capacity
    return NodeOverhead(
        daemonset_pods=int(a["daemonset_pods"]),
        daemonset_cpu_m=int(a["daemonset_cpu_m"]),
        daemonset_memory_mi=int(a["daemonset_memory_mi"]),
        os_memory_overhead=a["os_memory_overhead"],
        eviction_memory_mi=int(a["eviction_memory_mi"]),
    )


def node_task_capacity(
    instance_types: Sequence[str], max_nodes: int, task_cpu_m: int, task_memory_mi: int, sizing_dir: Path = SIZING_DIR
) -> int:
    """The nodes' limit of the capacity model (`make cost`'s "nodes" line) from a worker group's
    settings: what the program sizes Airflow's `default_pool` and parallelism with."""
    shapes = load_table("instance-types.json", sizing_dir)
    assumed = assumptions_for("default", load_table("assumptions.json", sizing_dir))
    workers = Workers(
        shapes={t: shape_of(t, shapes) for t in instance_types},
        max_nodes=max_nodes,
        task_cpu_m=task_cpu_m,
        task_memory_mi=task_memory_mi,
    )
    return node_limit(workers, node_overhead(assumed)).tasks


def has_shapes(instance_types: Sequence[str], sizing_dir: Path = SIZING_DIR) -> bool:
    known = load_table("instance-types.json", sizing_dir)["instance_types"]
    return all(t in known for t in instance_types)
