"""Facts the cost estimate and the capacity model read from an offline plan (`build/plan-<stack>.json`).

A plan is what `scripts/plan.py` writes: every resource the program registers, with its inputs.
Reading the plan, not the settings, means the figures follow what `pulumi up` would create,
overrides included (a user's `airflowValues` that change the task pods' requests count).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.cluster.scheduling import NODE_GROUP_LABEL
from lib.database.pgbouncer.pools import pgbouncer_pools
from lib.database.postgres import EXISTING_DATABASE_MAX_CONNECTIONS, max_connections

Plan = Mapping[str, Any]
NODE_GROUP = "eks:index:ManagedNodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
RELEASE = "kubernetes:helm.sh/v3:Release"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_STATE = "aws:rds/instanceDesiredState:InstanceDesiredState"
SUBNET = "aws:ec2/subnet:Subnet"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def of_type(plan: Plan, type_: str) -> list[Mapping[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def nat_instances(plan: Plan) -> list[Mapping[str, Any]]:
    """The plan's NAT instances: the EC2 instances that forward (source/destination check off)."""
    return [r for r in of_type(plan, "aws:ec2/instance:Instance") if r["inputs"].get("sourceDestCheck") is False]


@dataclass(frozen=True)
class GroupFacts:
    """A managed node group as the plan registers it."""

    name: str
    """The group's name (its node label), the same awake and hibernated."""
    instance_types: tuple[str, ...]
    spot: bool
    min_size: int
    desired_size: int
    max_size: int
    disk_gib: int
    for_tasks: bool
    """Tainted: only task pods run there, and the autoscaler sizes it from zero up."""
    subnet_ids: tuple[str, ...] = ()
    """The subnets its nodes are launched in (their zones)."""


def node_groups(plan: Plan) -> list[GroupFacts]:
    templates = {r["urn"]: r for r in of_type(plan, LAUNCH_TEMPLATE)}
    groups = []
    for mng in of_type(plan, NODE_GROUP):
        inputs = mng["inputs"]
        template = next(templates[u] for u in mng["dependencies"] if u in templates)
        scaling = inputs["scalingConfig"]
        groups.append(
            GroupFacts(
                name=inputs["labels"][NODE_GROUP_LABEL],
                instance_types=tuple(inputs["instanceTypes"]),
                spot=inputs.get("capacityType") == "SPOT",
                min_size=int(scaling["minSize"]),
                desired_size=int(scaling["desiredSize"]),
                max_size=int(scaling["maxSize"]),
                disk_gib=int(template["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]),
                for_tasks=any(t["effect"] in ("NO_SCHEDULE", "NO_EXECUTE") for t in inputs.get("taints") or []),
                subnet_ids=tuple(inputs.get("subnetIds") or ()),
            )
        )
    return groups + _node_pools(plan)


def _requirement(pool: Mapping[str, Any], key: str) -> list[str]:
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    return next(list(r["values"]) for r in reqs if r["key"] == key)


def _node_pools(plan: Plan) -> list[GroupFacts]:
    """Karpenter's task groups (`nodeAutoscaler: karpenter`) as the managed ones count: no node at idle,
    its node limit at the most, its instance types and capacity type, its EC2NodeClass's disk, the
    subnets its discovery tag selects."""
    classes = {r["inputs"]["metadata"]["name"]: r["inputs"]["spec"] for r in of_type(plan, NODE_CLASS)}
    pools = []
    for resource in of_type(plan, NODE_POOL):
        pool = resource["inputs"]
        template = pool["spec"]["template"]
        node_class = classes[template["spec"]["nodeClassRef"]["name"]]
        discovery = node_class["subnetSelectorTerms"][0]["tags"]
        subnets = [
            r.get("id", "")
            for r in of_type(plan, SUBNET)
            if all((r["inputs"].get("tags") or {}).get(k) == v for k, v in discovery.items())
        ]
        pools.append(
            GroupFacts(
                name=template["metadata"]["labels"][NODE_GROUP_LABEL],
                instance_types=tuple(_requirement(pool, "node.kubernetes.io/instance-type")),
                spot=_requirement(pool, "karpenter.sh/capacity-type") == ["spot"],
                min_size=0,
                desired_size=0,
                max_size=int(pool["spec"]["limits"]["nodes"]),
                disk_gib=int(node_class["blockDeviceMappings"][0]["ebs"]["volumeSize"].removesuffix("Gi")),
                for_tasks=any(t["effect"] in ("NoSchedule", "NoExecute") for t in template["spec"].get("taints") or []),
                subnet_ids=tuple(s for s in subnets if s),
            )
        )
    return pools


def airflow_release_values(plan: Plan) -> Mapping[str, Any]:
    """The Airflow release's values (the chart named `airflow`)."""
    return next(r["inputs"]["values"] for r in of_type(plan, RELEASE) if r["inputs"]["chart"] == "airflow")


def database_stopped(plan: Plan) -> bool:
    return any(r["inputs"]["state"] == "stopped" for r in of_type(plan, DB_STATE))


def node_subnet_addresses(plan: Plan, reserved_per_subnet: int) -> int | None:
    """Usable addresses of the stack's node subnets; None when it brings its own (sizes unknown)."""
    cidrs = [r["inputs"]["cidrBlock"] for r in of_type(plan, SUBNET) if r["inputs"]["tags"].get("tier") == "nodes"]
    if not cidrs:
        return None
    return sum(ipaddress.ip_network(c).num_addresses - reserved_per_subnet for c in cidrs)


def pgbouncer_server_connections(plan: Plan, pgbouncer_replicas: int) -> int:
    """Connections PgBouncer opens to the database over all its replicas (lib/database/pgbouncer/pools.py's pools)."""
    instances = of_type(plan, DB_INSTANCE)
    limit = max_connections(instances[0]["inputs"]["instanceClass"]) if instances else EXISTING_DATABASE_MAX_CONNECTIONS
    return pgbouncer_replicas * pgbouncer_pools(limit, pgbouncer_replicas).metadata_pool_size
