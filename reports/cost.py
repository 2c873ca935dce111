"""Monthly cost estimate of a plan, from a committed price table (`sizing/aws-prices.json`).

Three figures per line, all for a 730-hour month:
- idle:       node groups at their desired size, task groups at their minimum;
- busy:       idle, plus the task groups at their maximum for `busy_hours` a day;
- hibernated: what `hibernate: true` leaves running: every node group at zero and the database
              stopped; storage, NAT gateways, the load balancer, keys and the control plane stay.
A plan that is already hibernated prices the same in all three.

Every resource type of the plan is declared in the table's `resource_types`: priced (by the figures
it names), free (with the reason and its source) or unpriced (a known gap: what bills it, listed
under the estimate as "not priced"). A type the table does not declare, or a region or instance
class it lacks, is a `MissingPrice` naming it, never a silent zero. Usage the plan cannot show (NAT traffic, log
volume, stored files) comes from `sizing/assumptions.json`.

The control plane costs the extended-support rate when the cluster's Kubernetes version is past its
EKS standard support on the day of the estimate (lib/cluster/versions.py; EKS bills it from the start of
that day, UTC), the standard rate before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from lib.cluster.managed_addons import CLOUDWATCH_OBSERVABILITY
from lib.cluster.versions import EKS_VERSIONS, in_extended_support, utc_today
from lib.observability.cloudwatch import STATSD_METRICS
from reports.plan_facts import GroupFacts, Plan, database_stopped, node_groups, of_type

DAYS_PER_MONTH = 730 / 24


class MissingPrice(ValueError):
    """The price table lacks a figure the plan needs."""


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    date: str


class PriceTable:
    """One region's prices from the table, and the resource types that cost nothing."""

    def __init__(self, table: Mapping[str, Any], region: str, path: str = "sizing/aws-prices.json") -> None:
        if region not in table["regions"]:
            raise MissingPrice(
                f"region {region} is not in {path}; priced regions: {', '.join(sorted(table['regions']))}"
            )
        self.region = region
        self.path = path
        self.hours = float(table["hours_per_month"])
        self._prices: Mapping[str, Any] = table["regions"][region]
        self.types: Mapping[str, Mapping[str, Any]] = table["resource_types"]

    def figure(self, key: str, item: str | None = None) -> Price:
        entry = self._prices.get(key)
        if entry is not None and item is not None:
            what = {"ec2_instance_hour": "EC2 instance type", "rds_instance_hour": "RDS instance class"}[key]
            if item not in entry:
                raise MissingPrice(
                    f"{what} {item} has no price for {self.region} in {self.path} ({key}); add it, with its source"
                )
            entry = entry[item]
        if entry is None:
            raise MissingPrice(f"{key} has no price for {self.region} in {self.path}")
        return Price(float(entry["usd"]), entry["unit"], entry["source"], entry["date"])

    def declared(self, resource_type: str) -> bool:
        return resource_type in self.types

    def not_priced(self, resource_type: str) -> str | None:
        """What bills `resource_type` that the estimate leaves out (an `unpriced` type, or a priced
        type's `not_priced` dimension), with its source; None when nothing is left out."""
        entry = self.types[resource_type]
        if "unpriced" in entry:
            return f"{entry['unpriced']}; source: {entry['source']}"
        if "not_priced" in entry:
            return f"{entry['not_priced']['what']}; source: {entry['not_priced']['source']}"
        return None


@dataclass(frozen=True)
class Line:
    resource_type: str
    count: float
    unit_price: float
    monthly_idle: float
    monthly_busy: float
    monthly_hibernated: float
    source: str

    def as_json(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _line(label: str, count: float, price: Price, per_month: float, hibernated: float | None = None) -> Line:
    """`count` units at `price`, `per_month` of its unit each a month; the same busy."""
    idle = count * price.usd * per_month
    return Line(label, count, price.usd, idle, idle, idle if hibernated is None else hibernated, price.source)


def _node_hours(group: GroupFacts, busy_hours: float) -> tuple[int, float]:
    """Nodes a group runs idle (its desired size; a task group its minimum), and the node-hours a
    month a task group adds at its maximum for `busy_hours` a day."""
    idle = group.min_size if group.for_tasks else group.desired_size
    return idle, (group.max_size - idle) * busy_hours * DAYS_PER_MONTH if group.for_tasks else 0.0


def _node_lines(plan: Plan, prices: PriceTable, busy_hours: float) -> list[Line]:
    lines = []
    spot = prices.figure("ec2_spot_factor").usd
    gp3 = prices.figure("ebs_gp3_gb_month")
    for group in node_groups(plan):
        # Several types: the autoscaler may launch any, so price the dearest.
        price = max((prices.figure("ec2_instance_hour", t) for t in group.instance_types), key=lambda p: p.usd)
        hourly = price.usd * (spot if group.spot else 1.0)
        idle_nodes, extra_hours = _node_hours(group, busy_hours)
        kind = "SPOT" if group.spot else "ON_DEMAND"
        label = f"EC2 nodes: {group.name} ({'/'.join(group.instance_types)}, {kind})"
        idle = idle_nodes * hourly * prices.hours
        lines.append(Line(label, idle_nodes, hourly, idle, idle + extra_hours * hourly, 0.0, price.source))
        disk = group.disk_gib * gp3.usd
        lines.append(
            Line(
                f"EBS gp3 root volumes: {group.name} ({group.disk_gib} GiB each)",
                idle_nodes,
                disk,
                idle_nodes * disk,
                idle_nodes * disk + extra_hours / prices.hours * disk,
                0.0,
                gp3.source,
            )
        )
    return lines


def _database_lines(plan: Plan, prices: PriceTable) -> list[Line]:
    lines = []
    for db in of_type(plan, "aws:rds/instance:Instance"):
        inputs = db["inputs"]
        copies = prices.figure("rds_multi_az_factor").usd if inputs.get("multiAz") else 1.0
        az = "Multi-AZ" if inputs.get("multiAz") else "Single-AZ"
        price = prices.figure("rds_instance_hour", inputs["instanceClass"])
        hourly = price.usd * copies
        running = 0.0 if database_stopped(plan) else hourly * prices.hours
        lines.append(Line(f"RDS {inputs['instanceClass']} ({az})", 1, hourly, running, running, 0.0, price.source))
        storage = prices.figure("rds_gp3_gb_month")
        lines.append(_line(f"RDS gp3 storage ({az})", inputs["allocatedStorage"] * copies, storage, 1))
    return lines


def _control_plane_lines(plan: Plan, prices: PriceTable, today: date) -> list[Line]:
    """One line per Kubernetes version of the plan's clusters, at the rate its support has on `today`."""
    versions: dict[str, int] = {}
    for cluster in of_type(plan, "eks:index:Cluster"):
        version = str(cluster["inputs"].get("version", ""))
        if version not in EKS_VERSIONS:
            raise MissingPrice(
                f"Kubernetes version '{version}' of cluster {cluster['name']} is not in lib/cluster/versions.py: "
                "its support, and so its control-plane price, is unknown"
            )
        versions[version] = versions.get(version, 0) + 1
    lines = []
    for version, count in sorted(versions.items()):
        end = EKS_VERSIONS[version].end_of_standard.isoformat()
        if in_extended_support(version, today):
            label, key = (
                f"EKS control plane ({version}, extended support from {end})",
                "eks_cluster_hour_extended",
            )
        else:
            label, key = f"EKS control plane ({version}, standard support to {end})", "eks_cluster_hour"
        lines.append(_line(label, count, prices.figure(key), prices.hours))
    return lines


def _usage_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float]) -> list[Line]:
    count = {t: len(of_type(plan, t)) for t in {r["type"] for r in plan["resources"]}}
    nat, eips = count.get("aws:ec2/natGateway:NatGateway", 0), count.get("aws:ec2/eip:Eip", 0)
    nlbs = len(
        [r for r in of_type(plan, "aws:lb/loadBalancer:LoadBalancer") if r["inputs"]["loadBalancerType"] == "network"]
    )
    efs = count.get("aws:efs/fileSystem:FileSystem", 0)
    hours = prices.hours
    lines = [
        _line("NAT gateway hours", nat, prices.figure("nat_gateway_hour"), hours),
        _line("NAT gateway data (GB)", usage["nat_gb_month"] if nat else 0, prices.figure("nat_gateway_gb"), 1),
        _line("Public IPv4 addresses", eips, prices.figure("public_ipv4_hour"), hours),
        _line("Network Load Balancer hours", nlbs, prices.figure("nlb_hour"), hours),
        _line("Network Load Balancer NLCU", nlbs * usage["nlb_lcu"], prices.figure("nlb_lcu_hour"), hours),
        _line("EFS Standard storage (GB)", efs * usage["efs_stored_gb"], prices.figure("efs_standard_gb_month"), 1),
        _line(
            "EFS Elastic throughput (GB)",
            efs * usage["efs_transferred_gb_month"],
            prices.figure("efs_elastic_gb_transferred"),
            1,
        ),
        _line("KMS customer-managed keys", count.get("aws:kms/key:Key", 0), prices.figure("kms_key_month"), 1),
        _line("CloudWatch Logs ingested (GB)", usage["logs_ingested_gb_month"], prices.figure("logs_ingest_gb"), 1),
        _line("CloudWatch Logs stored (GB)", usage["logs_stored_gb"], prices.figure("logs_store_gb_month"), 1),
    ]
    flow_logs = count.get("aws:ec2/flowLog:FlowLog", 0)
    lines += [
        _line(
            "VPC flow logs delivered (GB)",
            flow_logs * usage["flow_logs_gb_month"],
            prices.figure("vended_logs_cwl_gb"),
            1,
        ),
        _line(
            "VPC flow logs stored (GB)",
            flow_logs * usage["flow_logs_stored_gb"],
            prices.figure("logs_store_gb_month"),
            1,
        ),
    ]
    if count.get("aws:ecr/pullThroughCacheRule:PullThroughCacheRule"):
        lines.append(_line("ECR cached images (GB)", usage["ecr_cached_gb"], prices.figure("ecr_storage_gb_month"), 1))
    return lines


def _alarm_metrics(alarm: Mapping[str, Any]) -> int:
    """Metrics an alarm is billed for: one, or each metric a metric-math alarm reads."""
    queries = alarm["inputs"].get("metricQueries") or []
    return max(1, sum(1 for q in queries if q.get("metric")))


def _monitoring_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """Alarms, dashboards, custom metrics, Container Insights, container logs and the logs bucket."""
    agents = [a for a in of_type(plan, "aws:eks/addon:Addon") if a["inputs"]["addonName"] == CLOUDWATCH_OBSERVABILITY]
    filters = len(of_type(plan, "aws:cloudwatch/logMetricFilter:LogMetricFilter"))
    alarms = sum(_alarm_metrics(a) for a in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm"))
    lines = [
        _line("CloudWatch alarm metrics", alarms, prices.figure("cloudwatch_alarm_metric_month"), 1),
        _line(
            "CloudWatch dashboards",
            len(of_type(plan, "aws:cloudwatch/dashboard:Dashboard")),
            prices.figure("cloudwatch_dashboard_month"),
            1,
        ),
        _line(
            "CloudWatch custom metrics (Airflow StatsD, log metrics)",
            len(STATSD_METRICS) * len(agents) + filters,
            prices.figure("cloudwatch_custom_metric_month"),
            1,
        ),
    ]
    if agents:
        insights = prices.figure("container_insights_node_month")
        busy = idle = 0.0
        for group in node_groups(plan):
            nodes, extra_hours = _node_hours(group, busy_hours)
            idle += nodes
            busy += nodes + extra_hours / prices.hours
        lines.append(
            Line(
                "Container Insights (enhanced observability), per node",
                idle,
                insights.usd,
                idle * insights.usd,
                busy * insights.usd,
                0.0,
                insights.source,
            )
        )
        gb = usage["container_logs_gb_month"]
        lines.append(_line("Container logs ingested (GB)", gb, prices.figure("logs_ingest_gb"), 1))
    if of_type(plan, "aws:s3/bucket:Bucket"):
        lines.append(_line("S3 task logs (GB)", usage["task_logs_s3_gb"], prices.figure("s3_standard_gb_month"), 1))
    return lines


def undeclared_types(plan: Plan, prices: PriceTable) -> list[str]:
    """Resource types of the plan that the table neither prices, nor lists as free or unpriced."""
    return sorted({r["type"] for r in plan["resources"]} - set(prices.types))


def not_priced(plan: Plan, prices: PriceTable) -> list[tuple[str, str]]:
    """(type, what bills it) for each type of the plan whose cost, or part of it, is not estimated."""
    found = ((t, prices.not_priced(t)) for t in sorted({r["type"] for r in plan["resources"]}))
    return [(t, what) for t, what in found if what]


@dataclass(frozen=True)
class Estimate:
    lines: list[Line]
    not_priced: list[tuple[str, str]]

    def total(self, which: str) -> float:
        return round(sum(getattr(line, f"monthly_{which}") for line in self.lines), 2)


def estimate(
    plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float, today: date | None = None
) -> Estimate:
    """The plan's monthly cost on `today` (UTC; default the current day), line by line (see the module
    docstring)."""
    if not 0 <= busy_hours <= 24:
        raise ValueError(f"busy hours {busy_hours} is not between 0 and 24")
    missing = undeclared_types(plan, prices)
    if missing:
        raise MissingPrice(
            f"resource type {missing[0]} has no price for {prices.region} in {prices.path}: declare it under "
            "resource_types as priced (and price it in reports/cost.py), free with the reason and its source, "
            "or unpriced with what bills it"
        )
    lines = _node_lines(plan, prices, busy_hours) + _database_lines(plan, prices)
    lines += _control_plane_lines(plan, prices, today or utc_today()) + _usage_lines(plan, prices, usage)
    lines += _monitoring_lines(plan, prices, usage, busy_hours)
    kept = [line for line in lines if line.count or line.monthly_idle or line.monthly_busy]
    return Estimate(kept, not_priced(plan, prices))
