"""The capacity model (lib/cluster/capacity.py) run on a plan: its worker group, Airflow values and subnets.

Reads plans (reports/plan_facts.py): `make cost` and the policy pack use it, never the program.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lib.cluster.capacity import (
    Addresses,
    Airflow,
    Limit,
    NodeOverhead,
    Timing,
    Workers,
    binding_limit,
    next_limit,
    node_limit,
    task_limits,
)
from lib.cluster.daemonsets import NODE_DAEMONSETS, node_daemonsets
from lib.cluster.managed_addons import KUBE_PROXY, VPC_CNI
from lib.cluster.node_groups import NodeGroupRole
from lib.cluster.sizing import Assumptions, node_overhead, shape_of
from lib.quantities import cpu_millicores, memory_mebibytes
from reports.plan_facts import (
    GroupFacts,
    Plan,
    airflow_release_values,
    node_groups,
    node_subnet_addresses,
    of_type,
    pgbouncer_server_connections,
)

CLUSTER = "eks:index:Cluster"
ADDON = "aws:eks/addon:Addon"


@dataclass(frozen=True)
class Capacity:
    limits: list[Limit]
    scheduler_down: list[Limit]
    """The limits with one scheduler gone (the others keep running)."""
    zone_down: list[Limit]
    """The limits right after one zone goes: the schedulers and API servers there gone (one per zone
    at most: their zone spread), the node subnets of the other zones; the worker group keeps its
    maximum (its Auto Scaling group launches in the zones left)."""
    overhead: NodeOverhead

    @property
    def binding(self) -> Limit:
        return binding_limit(self.limits)

    @property
    def next(self) -> Limit | None:
        return next_limit(self.limits)

    @property
    def max_concurrent_tasks(self) -> int:
        return self.binding.tasks


def _setting(values: Mapping[str, Any], section: str, key: str, default: float) -> int:
    return int(values.get("config", {}).get(section, {}).get(key, default))


def plan_addons(plan: Plan) -> list[str]:
    """The EKS add-ons of the plan: those pulumi-eks creates with the cluster (vpc-cni and
    kube-proxy, from its options) and the stack's `aws.eks.Addon`s."""
    names = []
    for cluster in of_type(plan, CLUSTER):
        inputs = cluster["inputs"]
        names += [VPC_CNI] if inputs.get("vpcCniOptions") is not None else []
        names += [KUBE_PROXY] if inputs.get("kubeProxyAddonOptions") is not None else []
    # In the catalog's order (lib/cluster/daemonsets.py): the plan lists resources by URN, which
    # follows where the program declares them.
    found = names + [a["inputs"]["addonName"] for a in of_type(plan, ADDON)]
    catalog = list(NODE_DAEMONSETS)
    return sorted(found, key=lambda n: (catalog.index(n) if n in catalog else len(catalog), n))


def check_max_pods(plan: Plan) -> None:
    """The model's max pods per node is the VPC CNI's without prefix delegation (Shape.max_pods, as
    nodeadm computes it): a plan whose vpc-cni configuration turns delegation on would get far more
    pods per node than the model counts. The add-on's configuration is pulumi-eks's `vpcCniOptions`
    when it creates vpc-cni, or the stack's own `aws.eks.Addon` (with aws-node's IRSA role)."""
    configs = [(c["inputs"].get("vpcCniOptions") or {}).get("configurationValues") for c in of_type(plan, CLUSTER)]
    configs += [
        a["inputs"].get("configurationValues") for a in of_type(plan, ADDON) if a["inputs"]["addonName"] == VPC_CNI
    ]
    for config in configs:
        config = json.loads(config) if isinstance(config, str) else (config or {})
        if str((config.get("env") or {}).get("ENABLE_PREFIX_DELEGATION", "false")).lower() == "true":
            raise ValueError(
                "the plan's vpc-cni configuration sets ENABLE_PREFIX_DELEGATION: the capacity model counts max pods "
                "per node without prefix delegation (lib/cluster/capacity.py Shape.max_pods)"
            )


def plan_overhead(plan: Plan, assumed: Assumptions) -> NodeOverhead:
    """What every node keeps from pods: the DaemonSets of the plan's add-ons (lib/cluster/daemonsets.py)."""
    return node_overhead(assumed, node_daemonsets(plan_addons(plan)))


def _zones(plan: Plan) -> int:
    return len({s["inputs"]["availabilityZoneId"] for s in of_type(plan, "aws:ec2/subnet:Subnet")}) or 1


def capacity(plan: Plan, shapes: Mapping[str, Any], assumed: Assumptions) -> Capacity:
    """The capacity model (lib/cluster/capacity.py) with the plan's worker group, Airflow values,
    subnets and add-ons, whole, with one scheduler down and with one zone down."""
    a = assumed.capacity
    groups = node_groups(plan)
    if not groups:  # asleep (`hibernate`): no node and no Airflow run a task
        asleep = [Limit("asleep", 0, "hibernate: no node group and no Airflow release")]
        return Capacity(asleep, asleep, asleep, plan_overhead(plan, assumed))
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

    check_max_pods(plan)
    overhead = plan_overhead(plan, assumed)
    workers = workers_of(workers_group)
    queues = [(g, node_limit(workers_of(g), overhead)) for g in task_groups if g is not workers_group]
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
    # The queue groups' nodes take node subnet addresses too, at their maximum.
    others = [g for g in groups if g is not workers_group]
    free = node_subnet_addresses(plan, int(a["subnet_reserved_ips"]))
    addresses = Addresses(
        free=free,
        other_nodes=sum(g.max_size for g in others),
        other_node_addresses=max((shape_of(t, shapes).addresses for g in others for t in g.instance_types), default=0),
    )
    timing = Timing(
        a["heartbeat_seconds"], a["api_request_seconds"], a["scheduler_loop_seconds"], a["mean_task_minutes"]
    )
    zones = _zones(plan)
    one_scheduler_down = replace(airflow, schedulers=max(airflow.schedulers - 1, 0))
    lost = {n: math.ceil(n / zones) for n in (airflow.schedulers, airflow.api_servers)}
    zone_airflow = replace(
        airflow,
        schedulers=airflow.schedulers - lost[airflow.schedulers],
        api_servers=airflow.api_servers - lost[airflow.api_servers],
    )
    zone_addresses = replace(addresses, free=None if free is None else free * (zones - 1) // zones)
    return Capacity(
        _with_queues(task_limits(workers, airflow, timing, addresses, overhead), queues),
        _with_queues(task_limits(workers, one_scheduler_down, timing, addresses, overhead), queues),
        _with_queues(task_limits(workers, zone_airflow, timing, zone_addresses, overhead), queues),
        overhead,
    )


def _with_queues(limits: list[Limit], queues: list[tuple[GroupFacts, Limit]]) -> list[Limit]:
    """Each queue's group adds its nodes' tasks to the limits the workers group's nodes set (the
    subnet's counts the queue groups among the other nodes, at their maximum)."""
    if not queues:
        return limits
    added = "; ".join(f"queue group {g.name}: {q.detail}" for g, q in queues)
    return [
        replace(limit, tasks=limit.tasks + sum(q.tasks for _, q in queues), detail=f"{limit.detail}; {added}")
        if limit.name in ("nodes", "subnet addresses")
        else limit
        for limit in limits
    ]
