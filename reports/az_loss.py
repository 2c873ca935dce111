"""What stops when one availability zone goes away, read from an offline plan.

For each zone the stack uses, each tier's state once that zone is gone:
- NAT egress: every surviving node subnet still routes to a NAT gateway outside the lost zone;
- node groups: nodes lost at once (the managed group's Auto Scaling group balances its desired
  size over its subnets' zones) and what the surviving zones hold once the group has relaunched
  them there; for the control-plane group, that against what the control plane requests;
- database: a Multi-AZ instance fails over to its standby; a single-AZ one is down when it sits in
  the lost zone (AWS picks its zone among the data subnets);
- file system: every surviving node zone keeps a mount target in its own zone;
- load balancer: subnets left in other zones (cross-zone load balancing is on);
- control-plane replicas: the pods each component keeps, at most ceil(replicas / zones) lost, as
  its spread constraints place them (one pod per node strictly, zones best effort).
`up` loses nothing, `degraded` keeps serving with less, `DOWN` stops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lib.cluster.capacity import NodeOverhead, Shape, allocatable
from lib.cluster.scheduling import NODE_GROUP_LABEL
from lib.quantities import cpu_millicores, memory_mebibytes
from policy.airflow_eks_guardrails.chart import control_plane_sections
from reports.plan_facts import DB_INSTANCE, SUBNET, GroupFacts, Plan, airflow_release_values, node_groups, of_type

UP, DEGRADED, DOWN = "up", "degraded", "DOWN"


@dataclass(frozen=True)
class Tier:
    name: str
    state: str
    detail: str


class Topology:
    """The plan's subnets, routes, NAT gateways and mount targets, by ID."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        subnets = of_type(plan, SUBNET)
        self.zone_of = {s["id"]: s["inputs"]["availabilityZoneId"] for s in subnets}
        self.tier_of = {s["id"]: s["inputs"].get("tags", {}).get("tier", "") for s in subnets}
        self.zones = sorted(set(self.zone_of.values()))
        tables = {r["id"]: r["inputs"] for r in of_type(plan, "aws:ec2/routeTable:RouteTable")}
        nats = {r["id"]: r["inputs"]["subnetId"] for r in of_type(plan, "aws:ec2/natGateway:NatGateway")}
        self.nat_zone_of: dict[str, str | None] = {}  # node subnet -> zone of its default route's NAT
        for assoc in of_type(plan, "aws:ec2/routeTableAssociation:RouteTableAssociation"):
            routes = tables.get(assoc["inputs"]["routeTableId"], {}).get("routes") or []
            nat = next((r.get("natGatewayId") for r in routes if r.get("cidrBlock") == "0.0.0.0/0"), None)
            self.nat_zone_of[assoc["inputs"]["subnetId"]] = self.zone_of.get(nats.get(nat or "", ""))

    def zones_of(self, subnet_ids: Sequence[str]) -> list[str]:
        return sorted({self.zone_of[s] for s in subnet_ids if s in self.zone_of})

    def node_zones(self) -> list[str]:
        return sorted({z for s, z in self.zone_of.items() if self.tier_of[s] == "nodes"})


def control_plane_requests(values: Mapping[str, Any]) -> tuple[int, int]:
    """CPU (m) and memory (MiB) the control plane's pods request (replicas x the main container)."""
    cpu = memory = 0
    for _, v in control_plane_sections(values):
        requests = (v.get("resources") or {}).get("requests") or {}
        replicas = int(v.get("replicas") or 1)
        cpu += replicas * cpu_millicores(requests.get("cpu", 0))
        memory += replicas * memory_mebibytes(requests.get("memory", 0))
    return cpu, memory


def _nat(topology: Topology, lost: str) -> Tier:
    cut = sorted(
        {topology.zone_of[s] for s, nat in topology.nat_zone_of.items() if nat == lost and topology.zone_of[s] != lost}
    )
    if cut:
        return Tier("NAT egress", DOWN, f"nodes in {', '.join(cut)} route through the NAT gateway in {lost}")
    return Tier("NAT egress", UP, "every other zone routes through its own NAT gateway")


@dataclass(frozen=True)
class _Capacity:
    """The control-plane group, what one of its nodes holds (the smallest of its types), and what
    the control plane requests, in millicores and MiB."""

    group: str | None
    node: tuple[int, int]
    requested: tuple[int, int]


def _capacity(
    groups: Sequence[GroupFacts], values: Mapping[str, Any], shapes: Mapping[str, Shape], overhead: NodeOverhead
) -> _Capacity:
    name = (values.get("scheduler", {}).get("nodeSelector") or {}).get(NODE_GROUP_LABEL)
    group = next((g for g in groups if g.name == name), None)
    node = (
        min((allocatable(shapes[t], overhead) for t in group.instance_types), key=lambda a: a[0]) if group else (0, 0)
    )
    return _Capacity(name, node, control_plane_requests(values))


def _groups(groups: Sequence[GroupFacts], topology: Topology, lost: str, capacity: _Capacity) -> list[Tier]:
    tiers = []
    for group in groups:
        zones = topology.zones_of(group.subnet_ids)
        left = [z for z in zones if z != lost]
        name = f"node group {group.name}"
        if not left:
            tiers.append(Tier(name, DOWN, f"all its subnets are in {lost}"))
            continue
        gone = math.ceil(group.desired_size / len(zones)) if lost in zones else 0
        detail = f"up to {gone} of {group.desired_size} nodes lost, relaunched in {', '.join(left)}"
        state = DEGRADED if gone else UP
        if group.name == capacity.group:
            (cpu, memory), (need_cpu, need_memory) = capacity.node, capacity.requested
            nodes = max(group.desired_size, group.min_size)
            fits = nodes * cpu >= need_cpu and nodes * memory >= need_memory
            detail += (
                f"; {nodes} nodes hold {nodes * cpu}m/{nodes * memory}Mi for {need_cpu}m/{need_memory}Mi requested"
            )
            state = state if fits else DOWN
        tiers.append(Tier(name, state, detail))
    return tiers


def _database(plan: Plan, topology: Topology, lost: str) -> Tier:
    instances = of_type(plan, DB_INSTANCE)
    if not instances:
        return Tier("database", UP, "not this stack's (existingDbHost)")
    if instances[0]["inputs"].get("multiAz"):
        return Tier("database", DEGRADED, "Multi-AZ: fails over to the standby (about a minute or two)")
    return Tier("database", DOWN, f"single-AZ: down if AWS placed it in {lost}, until restored elsewhere")


def _file_system(plan: Plan, topology: Topology, lost: str) -> Tier:
    mounted = set(
        topology.zones_of([t["inputs"]["subnetId"] for t in of_type(plan, "aws:efs/mountTarget:MountTarget")])
    )
    bare = [z for z in topology.node_zones() if z != lost and z not in mounted]
    if bare:
        return Tier("file system", DOWN, f"no mount target in {', '.join(bare)}")
    return Tier("file system", UP, f"mount targets in {', '.join(sorted(mounted - {lost}))}")


def _load_balancer(plan: Plan, topology: Topology, lost: str) -> Tier:
    balancers = of_type(plan, "aws:lb/loadBalancer:LoadBalancer")
    inputs = balancers[0]["inputs"] if balancers else {}
    # Subnet mappings (fixed addresses) or plain subnets.
    subnets = [m["subnetId"] for m in inputs.get("subnetMappings") or []] or inputs.get("subnets") or []
    left = [z for z in topology.zones_of(subnets) if z != lost] if balancers else []
    if not left:
        return Tier("load balancer", DOWN, f"no subnet outside {lost}")
    return Tier("load balancer", UP, f"subnets in {', '.join(left)}")


def _replicas(values: Mapping[str, Any], zones: int) -> list[Tier]:
    tiers = []
    for section, v in control_plane_sections(values):
        replicas = int(v.get("replicas") or 1)
        gone = min(replicas, math.ceil(replicas / max(zones, 1)))
        state = DOWN if gone == replicas else DEGRADED
        tiers.append(Tier(f"{section} pods", state, f"{replicas - gone} of {replicas} left"))
    return tiers


def az_loss(plan: Plan, shapes: Mapping[str, Shape], overhead: NodeOverhead) -> dict[str, list[Tier]]:
    """Zone -> each tier's state when that zone is lost; {} when the stack brings its own subnets."""
    topology = Topology(plan)
    values = airflow_release_values(plan)
    groups = node_groups(plan)
    capacity = _capacity(groups, values, shapes, overhead)
    result = {}
    for lost in topology.zones:
        result[lost] = [
            _nat(topology, lost),
            *_groups(groups, topology, lost, capacity),
            _database(plan, topology, lost),
            _file_system(plan, topology, lost),
            _load_balancer(plan, topology, lost),
            *_replicas(values, len(topology.node_zones())),
        ]
    return result


def render(result: Mapping[str, Sequence[Tier]]) -> str:
    """A Markdown table: a row per tier, a column per lost zone."""
    if not result:
        return "AZ-loss analysis: the stack brings its own subnets; their zones are not in the plan."
    zones = list(result)
    lines = ["| tier | " + " | ".join(f"{z} lost" for z in zones) + " |", "|---" * (len(zones) + 1) + "|"]
    for i, tier in enumerate(result[zones[0]]):
        cells = [f"{result[z][i].state}: {result[z][i].detail}" for z in zones]
        lines.append(f"| {tier.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tiers_down(result: Mapping[str, Sequence[Tier]]) -> list[tuple[str, Tier]]:
    return [(zone, t) for zone, tiers in result.items() for t in tiers if t.state == DOWN]
