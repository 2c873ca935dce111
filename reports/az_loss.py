"""What stops when one availability zone goes away, read from an offline plan.

For each zone the stack uses, each tier's state once that zone is gone:
- NAT egress: every surviving node subnet still routes to a NAT gateway outside the lost zone;
- node groups: nodes lost at once (the managed group's Auto Scaling group balances its desired
  size over its subnets' zones) and whether the nodes left, before any replacement launches, hold
  the requests of every pod that must run on the group (each pod's containers, sidecars and init
  containers, read from the chart's render; the add-ons' from the values the program sets and
  their pinned sizes), after the DaemonSets every node runs; pods without a node selector
  (CoreDNS, the EFS CSI controller, the CloudWatch operator) on what the untainted groups leave;
- database: a Multi-AZ instance fails over to its standby; a single-AZ one is down when it sits in
  the lost zone (AWS picks its zone among the data subnets);
- file system: every surviving node zone keeps a mount target in its own zone;
- load balancer: subnets left in other zones (cross-zone load balancing is on);
- replicas of every Airflow component and system add-on (the Load Balancer Controller, the
  Cluster Autoscaler, CoreDNS, the EFS CSI controller, the CloudWatch operator): at most
  ceil(replicas / zones) lost when its zone spread is `DoNotSchedule`; with `ScheduleAnyway` or no
  zone spread, every replica may sit in the lost zone (DOWN until rescheduled, or degraded for a
  controller whose loss stops nothing the stack serves).
`up` loses nothing, `degraded` keeps serving with less, `DOWN` stops.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lib.cluster.capacity import NodeOverhead, Shape, allocatable
from lib.cluster.daemonsets import ADDON_DEPLOYMENTS
from lib.cluster.managed_addons import EFS_CSI_DRIVER
from lib.cluster.scheduling import NODE_GROUP_LABEL
from lib.quantities import cpu_millicores, memory_mebibytes
from policy.airflow_eks_guardrails.chart import CONTROL_PLANE_LABELS
from reports.plan_facts import DB_INSTANCE, RELEASE, SUBNET, GroupFacts, Plan, nat_instances, node_groups, of_type

ADDON = "aws:eks/addon:Addon"

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
        # A route names a NAT instance by its network interface, which the plan's inputs do not link
        # to the instance: the plan holds one NAT instance at most (natGateways: instance).
        instance_subnets = {i["inputs"]["subnetId"] for i in nat_instances(plan)}
        self.nat_zone_of: dict[str, str | None] = {}  # node subnet -> zone of its default route's NAT
        for assoc in of_type(plan, "aws:ec2/routeTableAssociation:RouteTableAssociation"):
            routes = tables.get(assoc["inputs"]["routeTableId"], {}).get("routes") or []
            default: Mapping[str, Any] = next((r for r in routes if r.get("cidrBlock") == "0.0.0.0/0"), {})
            nat_subnet = nats.get(default.get("natGatewayId") or "")
            if default.get("networkInterfaceId") and len(instance_subnets) == 1:
                (nat_subnet,) = instance_subnets
            self.nat_zone_of[assoc["inputs"]["subnetId"]] = self.zone_of.get(nat_subnet or "")

    def zones_of(self, subnet_ids: Sequence[str]) -> list[str]:
        return sorted({self.zone_of[s] for s in subnet_ids if s in self.zone_of})

    def node_zones(self) -> list[str]:
        return sorted({z for s, z in self.zone_of.items() if self.tier_of[s] == "nodes"})


def _nat(topology: Topology, lost: str) -> Tier:
    cut = sorted(
        {topology.zone_of[s] for s, nat in topology.nat_zone_of.items() if nat == lost and topology.zone_of[s] != lost}
    )
    way = "NAT instance" if nat_instances(topology.plan) else "NAT gateway"
    if cut:
        return Tier("NAT egress", DOWN, f"nodes in {', '.join(cut)} route through the {way} in {lost}")
    others = {
        topology.zone_of[s]: nat
        for s, nat in topology.nat_zone_of.items()
        if topology.tier_of[s] == "nodes" and topology.zone_of[s] != lost
    }
    if all(zone == nat for zone, nat in others.items()):
        return Tier("NAT egress", UP, "every other zone routes through its own NAT gateway")
    ways = ", ".join(sorted({nat for nat in others.values() if nat}))
    return Tier("NAT egress", UP, f"the other zones route through the {way} in {ways}")


ZONE_KEY = "topology.kubernetes.io/zone"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
COMPONENT_SECTIONS = {label: section for section, label in CONTROL_PLANE_LABELS.items()}
ADDON_CHARTS = {
    "aws-load-balancer-controller": "Load Balancer Controller pods",
    "cluster-autoscaler": "Cluster Autoscaler pods",
}


@dataclass(frozen=True)
class Workload:
    """Pods of one Deployment or StatefulSet as the scheduler sees them."""

    tier: str
    group: str | None
    """The node group its node selector names; None: any node without a taint."""
    replicas: int
    cpu_m: int
    """One pod's CPU request: its containers (and sidecar init containers), or its largest init
    container, whichever is more (Kubernetes' effective request)."""
    memory_mi: int
    hard_zone_spread: bool
    """Spread over zones with `DoNotSchedule`: a zone holds at most ceil(replicas / zones)."""
    serves: bool = True
    """Its loss stops what the stack serves; False: what it manages keeps running without it."""


def _requests(container: Mapping[str, Any]) -> tuple[int, int]:
    requests = (container.get("resources") or {}).get("requests") or {}
    return cpu_millicores(requests.get("cpu", 0)), memory_mebibytes(requests.get("memory", 0))


def pod_requests(spec: Mapping[str, Any]) -> tuple[int, int]:
    """A pod's effective CPU (m) and memory (MiB) requests, init containers and sidecars included."""
    inits = spec.get("initContainers") or []
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    running = [_requests(c) for c in [*spec.get("containers", []), *sidecars]]
    cpu, memory = sum(r[0] for r in running), sum(r[1] for r in running)
    started = [0, 0]  # sidecars started before each init container run beside it
    for c in inits:
        c_cpu, c_memory = _requests(c)
        if c.get("restartPolicy") == "Always":
            started = [started[0] + c_cpu, started[1] + c_memory]
            continue
        cpu, memory = max(cpu, c_cpu + started[0]), max(memory, c_memory + started[1])
    return cpu, memory


def hard_zone_spread(spec: Mapping[str, Any]) -> bool:
    """Zone spread that holds: a `DoNotSchedule` zone constraint (`ScheduleAnyway` is a preference
    the scheduler may break, so every replica may share one zone)."""
    return any(
        c.get("topologyKey") == ZONE_KEY and c.get("whenUnsatisfiable") == "DoNotSchedule"
        for c in spec.get("topologySpreadConstraints") or []
    )


def rendered_workloads(objects: Sequence[Mapping[str, Any]]) -> list[Workload]:
    """The Airflow chart's Deployments and StatefulSets, from its render."""
    workloads = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        spec = obj["spec"]["template"]["spec"]
        component = obj["spec"]["template"]["metadata"].get("labels", {}).get("component", obj["metadata"]["name"])
        cpu, memory = pod_requests(spec)
        workloads.append(
            Workload(
                f"{COMPONENT_SECTIONS.get(component, component)} pods",
                (spec.get("nodeSelector") or {}).get(NODE_GROUP_LABEL),
                int(obj["spec"].get("replicas", 1)),
                cpu,
                memory,
                hard_zone_spread(spec),
            )
        )
    return workloads


def addon_workloads(plan: Plan) -> list[Workload]:
    """The system add-ons' Deployments: the Helm add-ons from the values the program sets (each runs
    one container), the EKS add-ons from their pinned size (lib/cluster/daemonsets.py) and the
    configuration the program gives them."""
    workloads = []
    for release in of_type(plan, RELEASE):
        tier = ADDON_CHARTS.get(release["inputs"]["chart"])
        if tier is None:
            continue
        values = release["inputs"]["values"]
        cpu, memory = _requests(values)
        workloads.append(
            Workload(
                tier,
                (values.get("nodeSelector") or {}).get(NODE_GROUP_LABEL),
                int(values.get("replicaCount", 1)),
                cpu,
                memory,
                hard_zone_spread(values),
            )
        )
    # In the catalog's order: the plan lists resources by URN, which follows where they are declared.
    in_plan = {a["inputs"]["addonName"]: a for a in of_type(plan, ADDON)}
    for addon, known in ((in_plan[n], k) for n, k in ADDON_DEPLOYMENTS.items() if n in in_plan):
        config = json.loads(addon["inputs"].get("configurationValues") or "{}")
        config = config.get("controller", config) if known.addon == EFS_CSI_DRIVER else config
        workloads.append(
            Workload(
                known.tier,
                (config.get("nodeSelector") or {}).get(NODE_GROUP_LABEL),
                int(config.get("replicaCount", known.replicas)),
                known.cpu_m,
                known.memory_mi,
                hard_zone_spread(config),
                known.serves,
            )
        )
    return workloads


def _node_room(group: GroupFacts, shapes: Mapping[str, Shape], overhead: NodeOverhead) -> tuple[int, int]:
    """What one node of the group leaves to pods (the smallest of its types)."""
    return min((allocatable(shapes[t], overhead) for t in group.instance_types), key=lambda a: a[0])


def _groups(
    groups: Sequence[GroupFacts],
    topology: Topology,
    lost: str,
    workloads: Sequence[Workload],
    shapes: Mapping[str, Shape],
    overhead: NodeOverhead,
) -> list[Tier]:
    """Each group's nodes left in the other zones before any replacement launches, against the
    requests of every pod that must run there (pods without a node selector on the untainted groups'
    room left over)."""
    tiers, spare = [], [0, 0]
    for group in groups:
        zones = topology.zones_of(group.subnet_ids)
        left = [z for z in zones if z != lost]
        name = f"node group {group.name}"
        if not left:
            tiers.append(Tier(name, DOWN, f"all its subnets are in {lost}"))
            continue
        nodes = group.desired_size
        gone = math.ceil(nodes / len(zones)) if lost in zones else 0
        detail = f"{gone} of {nodes} nodes lost, {nodes - gone} left until replacements launch in {', '.join(left)}"
        state = DEGRADED if gone else UP
        placed = [w for w in workloads if w.group == group.name]
        cpu, memory = _node_room(group, shapes, overhead)
        room = ((nodes - gone) * cpu, (nodes - gone) * memory)
        if placed:
            need = (sum(w.replicas * w.cpu_m for w in placed), sum(w.replicas * w.memory_mi for w in placed))
            detail += f"; they hold {room[0]}m/{room[1]}Mi for {need[0]}m/{need[1]}Mi requested"
            state = state if room[0] >= need[0] and room[1] >= need[1] else DOWN
            room = (room[0] - need[0], room[1] - need[1])
        if not group.for_tasks:
            spare = [spare[0] + max(room[0], 0), spare[1] + max(room[1], 0)]
        tiers.append(Tier(name, state, detail))
    anywhere = [w for w in workloads if w.group is None]
    need = (sum(w.replicas * w.cpu_m for w in anywhere), sum(w.replicas * w.memory_mi for w in anywhere))
    fits = spare[0] >= need[0] and spare[1] >= need[1]
    tiers.append(
        Tier(
            "unpinned system pods",
            UP if fits else DOWN,
            f"{', '.join(w.tier.removesuffix(' pods') for w in anywhere)}: {need[0]}m/{need[1]}Mi requested, "
            f"{spare[0]}m/{spare[1]}Mi left on the untainted groups' surviving nodes",
        )
    )
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


def _replicas(workloads: Sequence[Workload], zones: int) -> list[Tier]:
    """Pods each workload keeps at once: with a hard zone spread it loses at most ceil(replicas /
    zones); with a soft one (or none) every replica may sit in the lost zone."""
    tiers = []
    for w in workloads:
        gone = min(w.replicas, math.ceil(w.replicas / max(zones, 1))) if w.hard_zone_spread else w.replicas
        spread = "zone spread DoNotSchedule" if w.hard_zone_spread else "no hard zone spread: all may share the zone"
        detail = f"{w.replicas - gone} of {w.replicas} left ({spread})"
        if gone < w.replicas:
            state = DEGRADED if gone else UP
        elif w.serves:
            state = DOWN
            detail += ", until rescheduled"
        else:
            state = DEGRADED
            detail += "; what it manages keeps running"
        tiers.append(Tier(w.tier, state, detail))
    return tiers


def az_loss(
    plan: Plan, objects: Sequence[Mapping[str, Any]], shapes: Mapping[str, Shape], overhead: NodeOverhead
) -> dict[str, list[Tier]]:
    """Zone -> each tier's state when that zone is lost; {} when the stack brings its own subnets.
    `objects` is the Airflow chart rendered with the plan's values (offline.chart.render)."""
    topology = Topology(plan)
    groups = node_groups(plan)
    workloads = [*rendered_workloads(objects), *addon_workloads(plan)]
    result = {}
    for lost in topology.zones:
        result[lost] = [
            _nat(topology, lost),
            *_groups(groups, topology, lost, workloads, shapes, overhead),
            _database(plan, topology, lost),
            _file_system(plan, topology, lost),
            _load_balancer(plan, topology, lost),
            *_replicas(workloads, len(topology.node_zones())),
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
