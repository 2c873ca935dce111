"""The capacity model (lib/cluster/capacity.py) run on a plan: its worker group, Airflow values and subnets.

Reads plans (reports/plan_facts.py): `make cost` and the policy pack use it, never the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lib.cluster.capacity import Addresses, Airflow, Limit, Timing, Workers, binding_limit, node_limit, task_limits
from lib.cluster.node_groups import NodeGroupRole
from lib.cluster.sizing import Assumptions, node_overhead, shape_of
from lib.quantities import cpu_millicores, memory_mebibytes
from reports.plan_facts import (
    GroupFacts,
    Plan,
    airflow_release_values,
    node_groups,
    node_subnet_addresses,
    pgbouncer_server_connections,
)


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
    """The capacity model (lib/cluster/capacity.py) with the plan's worker group, Airflow values and subnets."""
    a = assumed.capacity
    groups = node_groups(plan)
    task_groups = [g for g in groups if g.for_tasks]
    if not task_groups:
        raise ValueError("the plan has no tainted task node group; the model reads the workers group and the queues'")
    # The default queue's group (`workers`) and each queue's own (nodeGroups.<name>.taskQueue).
    workers_group = next((g for g in task_groups if g.name == NodeGroupRole.WORKERS), task_groups[0])
    values = airflow_release_values(plan)
    requests = values["workers"]["kubernetes"]["resources"]["requests"]

    def workers_of(group: GroupFacts) -> Workers:
        group_shapes = {t: shape_of(t, shapes) for t in group.instance_types}
        return Workers(
            shapes=group_shapes,
            max_nodes=group.max_size,
            task_cpu_m=cpu_millicores(requests["cpu"]),
            task_memory_mi=memory_mebibytes(requests["memory"]),
            # A GPU queue's task asks one GPU (lib/airflow/queues.py).
            task_gpus=int(any(s.gpus for s in group_shapes.values())),
        )

    workers = workers_of(workers_group)
    queues = [(g, node_limit(workers_of(g), node_overhead(assumed))) for g in task_groups if g is not workers_group]
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
    others = [g for g in groups if g is not workers_group]
    addresses = Addresses(
        free=node_subnet_addresses(plan, int(a["subnet_reserved_ips"])),
        other_nodes=sum(g.max_size for g in others),
        other_node_addresses=max((shape_of(t, shapes).addresses for g in others for t in g.instance_types), default=0),
    )
    timing = Timing(
        a["heartbeat_seconds"], a["api_request_seconds"], a["scheduler_loop_seconds"], a["mean_task_minutes"]
    )
    limits = task_limits(workers, airflow, timing, addresses, node_overhead(assumed))
    # Each queue's group adds its nodes' tasks to the limits the workers group's nodes set (the
    # subnet's counts the queue groups among the other nodes, at their maximum).
    for i, limit in enumerate(limits):
        if queues and limit.name in ("nodes", "subnet addresses"):
            added = "; ".join(f"queue group {g.name}: {q.detail}" for g, q in queues)
            tasks = limit.tasks + sum(q.tasks for _, q in queues)
            limits[i] = replace(limit, tasks=tasks, detail=f"{limit.detail}; {added}")
    return Capacity(limits)
