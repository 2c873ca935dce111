"""Monthly cost estimate of a plan, from a committed price table (`sizing/aws-prices.json`).

Three figures per line, all for a 730-hour month:
- idle:       node groups at their desired size, task groups at their minimum;
- busy:       idle, plus the task groups at their maximum for `busy_hours` a day;
- hibernated: a month asleep with `hibernate: true` (`make cost` prints it as "asleep"): only what
              holds data stays (program.py, `asleep_stack`): the database's storage, and its
              instance hours between AWS's start of a stopped instance after 7 days and the next
              `pulumi up` (`rds_asleep_started_hours_month`); the file system, its backups, the flow
              logs stored, the task logs bucket, the keys but the nodes' volume key, and their
              rotations. The control plane, nodes, NAT gateways and their addresses, the load
              balancer, alarms, dashboards and metrics go; activity (traffic, logs, reads and
              writes, requests, CPU credits) stops. Logs stored before the stack fell asleep are not
              in it: they expire with their retention.
A plan that is already hibernated prices the same in all three, and its total is the awake plan's
hibernated total (tests/plans/test_hibernation_and_images.py).

Every resource type of the plan is declared in the table's `resource_types`: priced (by the figures
it names), free (with the reason and its source) or unpriced (a known gap: what bills it, listed
under the estimate as "not priced"). A type the table does not declare, or a region or instance
class it lacks, is a `MissingPrice` naming it, never a silent zero. Usage the plan cannot show (NAT traffic, log
volume, stored files, requests, CPU) comes from `sizing/assumptions.json`, each volume with its reason; the
usage-driven lines (`usage_driven_lines`) read from the plan what decides them (enabled log types,
replicas and log level, key rotation, backup policy, pull-through cache, burstable types).

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
from lib.cluster.sizing import load_table
from lib.cluster.versions import EKS_VERSIONS, in_extended_support, utc_today
from lib.observability.cloudwatch import STATSD_METRICS
from reports.plan_facts import (
    GroupFacts,
    Plan,
    airflow_release_values,
    database_stopped,
    nat_instances,
    node_groups,
    of_type,
)

DAYS_PER_MONTH = 730 / 24
# vCPUs of the instance types the capacity model knows: what a burstable node's surplus credits are counted in.
VCPUS = {k: int(v["vcpu"]) for k, v in load_table("instance-types.json")["instance_types"].items()}


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
        self.as_of = table["as_of"]
        """The month of the table's latest figure: what `make cost` says its prices date to."""

    def figure(self, key: str, item: str | None = None) -> Price:
        entry = self._prices.get(key)
        if entry is not None and item is not None:
            what = {
                "ec2_instance_hour": "EC2 instance type",
                "rds_instance_hour": "RDS instance class",
                "ec2_cpu_credit_vcpu_hour": "burstable EC2 family",
                "ec2_burstable_baseline": "burstable EC2 instance type",
            }[key]
            if item not in entry:
                raise MissingPrice(
                    f"{what} {item} has no price for {self.region} in {self.path} ({key}); add it, with its source"
                )
            entry = entry[item]
        if entry is None:
            raise MissingPrice(f"{key} has no price for {self.region} in {self.path}")
        return Price(float(entry["usd"]), entry["unit"], entry["source"], entry["date"])

    def free_units(self, key: str) -> float:
        """Units of `key` AWS does not bill each month (its free tier), 0 when it has none."""
        return float(self._prices.get(key, {}).get("free_units", 0))

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


def _database_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float]) -> list[Line]:
    lines = []
    # Stopped, an instance runs only from AWS's start after 7 days to the next `pulumi up`.
    started = usage["rds_asleep_started_hours_month"]
    for db in of_type(plan, "aws:rds/instance:Instance"):
        inputs = db["inputs"]
        copies = prices.figure("rds_multi_az_factor").usd if inputs.get("multiAz") else 1.0
        az = "Multi-AZ" if inputs.get("multiAz") else "Single-AZ"
        price = prices.figure("rds_instance_hour", inputs["instanceClass"])
        hourly = price.usd * copies
        stopped = database_stopped(plan)
        running = hourly * (started if stopped else prices.hours)
        label = f"RDS {inputs['instanceClass']} ({az})" + (f", stopped: {started:g} h AWS runs it" if stopped else "")
        lines.append(Line(label, 1, hourly, running, running, hourly * started, price.source))
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
        lines.append(_line(label, count, prices.figure(key), prices.hours, hibernated=0.0))
    return lines


def _usage_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float]) -> list[Line]:
    count = {t: len(of_type(plan, t)) for t in {r["type"] for r in plan["resources"]}}
    nat, eips = count.get("aws:ec2/natGateway:NatGateway", 0), count.get("aws:ec2/eip:Eip", 0)
    nlbs = len(
        [r for r in of_type(plan, "aws:lb/loadBalancer:LoadBalancer") if r["inputs"]["loadBalancerType"] == "network"]
    )
    efs = count.get("aws:efs/fileSystem:FileSystem", 0)
    hours = prices.hours
    instances = nat_instances(plan)
    addresses = eips + sum(1 for i in instances if i["inputs"].get("associatePublicIpAddress"))
    # Asleep, the NAT gateways, their addresses and the NLB are gone (program.py, asleep_stack).
    lines = [
        _line("NAT gateway hours", nat, prices.figure("nat_gateway_hour"), hours, 0.0),
        *_nat_instance_lines(plan, instances, prices),
        _line("Public IPv4 addresses", addresses, prices.figure("public_ipv4_hour"), hours, 0.0),
        _line("Network Load Balancer hours", nlbs, prices.figure("nlb_hour"), hours, 0.0),
        _line("Network Load Balancer NLCU", nlbs * usage["nlb_lcu"], prices.figure("nlb_lcu_hour"), hours, 0.0),
        _line("EFS Standard storage (GB)", efs * usage["efs_stored_gb"], prices.figure("efs_standard_gb_month"), 1),
    ]
    flow_logs = count.get("aws:ec2/flowLog:FlowLog", 0)
    delivered = flow_logs * usage["flow_logs_gb_month"]
    lines += [
        # Asleep, no node, NAT gateway or load balancer talks: the records are the nodes' traffic.
        _activity(
            "VPC flow logs delivered (GB)", delivered, delivered, prices.figure("vended_logs_cwl_gb"), _awake(plan)
        ),
        _line(
            "VPC flow logs stored (GB)",
            flow_logs * usage["flow_logs_stored_gb"],
            prices.figure("logs_store_gb_month"),
            1,
        ),
    ]
    if count.get("aws:ecr/pullThroughCacheRule:PullThroughCacheRule"):
        # Asleep the rules are gone (the node role their policy is on): what the cache's repositories
        # keep is not in the asleep column (docs/cost.md, Hibernation).
        ecr = prices.figure("ecr_storage_gb_month")
        lines.append(_line("ECR cached images (GB)", usage["ecr_cached_gb"], ecr, 1, 0.0))
    return lines


def _nat_instance_lines(plan: Plan, instances: list[Mapping[str, Any]], prices: PriceTable) -> list[Line]:
    """Each NAT instance's hours and root volume (its launch template's size); none asleep."""
    templates = {r.get("id"): r["inputs"] for r in of_type(plan, "aws:ec2/launchTemplate:LaunchTemplate")}
    lines = []
    for instance in instances:
        kind = instance["inputs"]["instanceType"]
        template = templates[instance["inputs"]["launchTemplate"]["id"]]
        gib = sum(m["ebs"]["volumeSize"] for m in template.get("blockDeviceMappings") or [])
        lines += [
            _line(f"NAT instance hours ({kind})", 1, prices.figure("ec2_instance_hour", kind), prices.hours, 0.0),
            _line(f"NAT instance root volume ({gib} GiB gp3)", gib, prices.figure("ebs_gp3_gb_month"), 1, 0.0),
        ]
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
    # Asleep the alarms, the dashboard and the log metric filters are gone, and nothing publishes a metric.
    lines = [
        _line("CloudWatch alarm metrics", alarms, prices.figure("cloudwatch_alarm_metric_month"), 1, 0.0),
        _line(
            "CloudWatch dashboards",
            len(of_type(plan, "aws:cloudwatch/dashboard:Dashboard")),
            prices.figure("cloudwatch_dashboard_month"),
            1,
            0.0,
        ),
        _line(
            "CloudWatch custom metrics (Airflow StatsD, log metrics)",
            len(STATSD_METRICS) * len(agents) + filters,
            prices.figure("cloudwatch_custom_metric_month"),
            1,
            0.0,
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
    if of_type(plan, "aws:s3/bucket:Bucket"):
        lines.append(_line("S3 task logs (GB)", usage["task_logs_s3_gb"], prices.figure("s3_standard_gb_month"), 1))
    return lines


# --- Usage-driven lines (issue 23, item 1) -------------------------------------------------------
# Each line reads the plan's own resources (which log types are on, which keys rotate, whether a
# backup policy or a pull-through cache exists) and a volume of sizing/assumptions.json, which says
# whether that volume is sourced or derived. Activity (traffic, log lines, reads and writes, surplus
# CPU) is zero while the stack sleeps; what is stored stays. The asleep column is a month asleep:
# container logs ingested while awake have expired by then (retention of at most 30 days in dev).

NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
PULL_THROUGH_CACHE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
EFS_BACKUP = "aws:efs/backupPolicy:BackupPolicy"
# The plan's log groups by what writes them (lib/security/audit.py, lib/observability/cloudwatch.py,
# components/parts/rds.py).
LOG_SOURCES = {"control plane": "/aws/eks/", "containers": "/aws/containerinsights/", "database": "/aws/rds/"}
# Airflow chart components whose logs Fluent Bit ships (values key -> replicas), and the add-ons' pods.
AIRFLOW_COMPONENTS = ("scheduler", "apiServer", "triggerer", "dagProcessor", "pgbouncer")
ADDON_RELEASES = {
    "cluster-autoscaler": "cluster-autoscaler",
    "aws-load-balancer-controller": "aws-load-balancer-controller",
}


# Components whose resources `hibernate: true` deletes, besides those of the cluster (program.py,
# asleep_stack): what the asleep column leaves out of an awake plan's keys.
GONE_ASLEEP_PARENTS = ("airflow:index:NodeGroups", "airflow:index:NatInstance")


def _gone_asleep(resource: Mapping[str, Any]) -> bool:
    """The resource is a child of a component that sleep empties (its URN's parent types)."""
    parts = str(resource["urn"]).split("::")  # urn:pulumi:<stack>::<project>::<parent types$type>::<name>
    parents = parts[2].split("$")[:-1] if len(parts) == 4 else []
    return any(p in GONE_ASLEEP_PARENTS for p in parents)


def _awake(plan: Plan) -> bool:
    """Some always-on node group has nodes: a hibernated plan has none, and nothing runs."""
    return any(not g.for_tasks and g.desired_size > 0 for g in node_groups(plan))


def _activity(label: str, idle: float, busy: float, price: Price, awake: bool, per_unit: float = 1.0) -> Line:
    """`idle` and `busy` units a month of an activity at `price` (per `per_unit` units); none asleep."""
    scale = price.usd / per_unit if awake else 0.0
    idle, busy = (idle, busy) if awake else (0.0, 0.0)
    return Line(label, idle, price.usd, idle * scale, busy * scale, 0.0, price.source)


def _busy_tasks(usage: Mapping[str, float], busy_hours: float) -> float:
    """Tasks a month: the task groups run tasks only in their busy hours."""
    return usage["tasks_per_busy_hour"] * busy_hours * DAYS_PER_MONTH


def _nat_data_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """Traffic to the internet, and the images new nodes pull through the NAT: none with the ECR
    pull-through cache (ECR serves layers from S3, which the S3 gateway endpoint carries). A NAT
    instance processes it for nothing: only a NAT gateway bills by the GB."""
    if not of_type(plan, NAT_GATEWAY):
        return []
    price, awake = prices.figure("nat_gateway_gb"), _awake(plan)
    image_gb = 0.0 if of_type(plan, PULL_THROUGH_CACHE) else usage["node_image_gb"]
    # A busy day starts the task groups from their minimum to their maximum once.
    scale_ups = sum(g.max_size - g.min_size for g in node_groups(plan) if g.for_tasks) * DAYS_PER_MONTH
    idle_pulls = usage["node_launches_idle_month"] * image_gb
    busy_pulls = idle_pulls + (scale_ups * image_gb if busy_hours else 0.0)
    source = "registries outside AWS" if image_gb else "none: the ECR pull-through cache, through the S3 endpoint"
    return [
        _activity("NAT data: task and add-on traffic (GB)", usage["nat_gb_month"], usage["nat_gb_month"], price, awake),
        _activity(f"NAT data: images new nodes pull ({source}) (GB)", idle_pulls, busy_pulls, price, awake),
    ]


def _retention_months(plan: Plan, prefix: str) -> float:
    """Months the plan's log groups under `prefix` keep events (the longest; never-expire counts 12)."""
    days = [
        int(g["inputs"].get("retentionInDays") or 0)
        for g in of_type(plan, LOG_GROUP)
        if str(g["inputs"].get("name", "")).startswith(prefix)
    ]
    return min(12.0, max((d or 365) for d in days) / (730 / 24)) if days else 0.0


def _control_plane_logs(plan: Plan, usage: Mapping[str, float], busy_hours: float) -> list[tuple[str, float, float]]:
    """(log type, GB idle, GB busy) a month for each log type the plan's clusters enable."""
    out = []
    for cluster in of_type(plan, "eks:index:Cluster"):
        for kind in cluster["inputs"].get("enabledClusterLogTypes") or []:
            if kind == "audit":
                gb_per_event = usage["control_plane_logs.audit.event_kb"] / 1e6
                idle = usage["control_plane_logs.audit.events_per_second"] * 3600 * 730 * gb_per_event
                per_task = usage["control_plane_logs.audit.events_per_task"] * gb_per_event
                out.append((kind, idle, idle + per_task * _busy_tasks(usage, busy_hours)))
            else:
                gb = usage[f"control_plane_logs.{kind}.gb_month"]
                out.append((kind, gb, gb))
    return out


def _container_logs(plan: Plan, usage: Mapping[str, float], busy_hours: float) -> list[tuple[str, float, float]]:
    """(component, GB idle, GB busy) a month Fluent Bit ships: per replica at its log level, per node,
    per task. Only with the CloudWatch Observability add-on (clusterMetrics)."""
    agents = [a for a in of_type(plan, "aws:eks/addon:Addon") if a["inputs"]["addonName"] == CLOUDWATCH_OBSERVABILITY]
    if not agents:
        return []
    values = airflow_release_values(plan)
    level = str(values.get("config", {}).get("logging", {}).get("logging_level", "INFO")).upper()
    factor = usage[f"container_logs.level_factor.{level}"]
    out = []
    for component in AIRFLOW_COMPONENTS:
        section = values.get(component, {})
        if component == "pgbouncer" and not section.get("enabled"):
            continue
        replicas = int(section.get("replicas", 1))
        gb = replicas * usage[f"container_logs.{component}.gb_month"] * factor
        out.append((f"{component} x{replicas} at {level}", gb, gb))
    charts = {r["inputs"]["chart"] for r in of_type(plan, "kubernetes:helm.sh/v3:Release")}
    for chart in sorted(set(ADDON_RELEASES) & charts):
        gb = usage[f"container_logs.{chart}.gb_month"]
        out.append((chart, gb, gb))
    nodes = node_groups(plan)
    idle_nodes = sum(g.min_size if g.for_tasks else g.desired_size for g in nodes)
    extra_node_months = sum((g.max_size - g.min_size) * busy_hours / 24 for g in nodes if g.for_tasks)
    per_node = usage["container_logs.node.gb_month"]
    out.append(
        (
            f"nodes' data plane and host ({idle_nodes} nodes idle)",
            idle_nodes * per_node,
            (idle_nodes + extra_node_months) * per_node,
        )
    )
    tasks = usage["container_logs.per_task_kb"] / 1e6 * _busy_tasks(usage, busy_hours)
    out.append(("task pods and their heartbeats", 0.0, tasks))
    return out


def _log_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """CloudWatch Logs ingested per source, and what their retention keeps stored."""
    ingest, store, awake = prices.figure("logs_ingest_gb"), prices.figure("logs_store_gb_month"), _awake(plan)
    lines, stored_idle = [], 0.0
    fraction = usage["logs_stored_fraction"]
    months = _retention_months(plan, LOG_SOURCES["control plane"])
    for kind, idle, busy in _control_plane_logs(plan, usage, busy_hours):
        # Asleep there is no control plane: nothing is ingested.
        lines.append(
            Line(
                f"EKS control-plane logs: {kind} (GB)",
                idle,
                ingest.usd,
                idle * ingest.usd,
                busy * ingest.usd,
                0.0,
                ingest.source,
            )
        )
        stored_idle += idle * months * fraction
    rds = [d for d in of_type(plan, "aws:rds/instance:Instance") if d["inputs"].get("enabledCloudwatchLogsExports")]
    if rds:
        gb = len(rds) * usage["rds_logs_gb_month"] * (0.0 if database_stopped(plan) else 1.0)
        lines.append(_activity("RDS logs exported (GB)", gb, gb, ingest, True))
        stored_idle += gb * _retention_months(plan, LOG_SOURCES["database"]) * fraction
    months = _retention_months(plan, LOG_SOURCES["containers"])
    for component, idle, busy in _container_logs(plan, usage, busy_hours):
        lines.append(_activity(f"Container logs: {component} (GB)", idle, busy, ingest, awake))
        stored_idle += (idle if awake else 0.0) * months * fraction
    lines.append(
        Line(
            "CloudWatch Logs stored (GB, compressed)",
            stored_idle,
            store.usd,
            stored_idle * store.usd,
            stored_idle * store.usd,
            0.0,  # asleep nothing is ingested; what was stored expires with its retention
            store.source,
        )
    )
    return lines


def _file_system_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float]) -> list[Line]:
    """EFS Elastic throughput, reads and writes apart, and AWS Backup's warm storage of the file
    system's recovery points when its backup policy is on."""
    systems = len(of_type(plan, "aws:efs/fileSystem:FileSystem"))
    if not systems:
        return []
    awake = _awake(plan)
    read, written = systems * usage["efs_read_gb_month"], systems * usage["efs_written_gb_month"]
    lines = [
        _activity("EFS Elastic throughput: reads (GB)", read, read, prices.figure("efs_elastic_gb_read"), awake),
        _activity(
            "EFS Elastic throughput: writes (GB)", written, written, prices.figure("efs_elastic_gb_written"), awake
        ),
    ]
    enabled = [b for b in of_type(plan, EFS_BACKUP) if b["inputs"]["backupPolicy"]["status"] == "ENABLED"]
    if enabled:
        # Incremental recovery points kept `retention` days: the files stored, and what was written
        # (and since deleted or rewritten, as task logs are) within that time.
        retention = usage["efs_backup_retention_days"] / DAYS_PER_MONTH
        gb = len(enabled) * (usage["efs_stored_gb"] + usage["efs_written_gb_month"] * retention)
        lines.append(
            _line(
                f"EFS backups: warm storage ({usage['efs_backup_retention_days']:g} days of recovery points, GB)",
                gb,
                prices.figure("efs_backup_warm_gb_month"),
                1,
            )
        )
    return lines


def _key_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float]) -> list[Line]:
    """Customer-managed keys, their rotations' monthly charge, and requests past the free tier."""
    keys = of_type(plan, KMS_KEY)
    if not keys:
        return []
    rotated = sum(1 for k in keys if k["inputs"].get("enableKeyRotation"))
    rotations = rotated * usage["kms_rotations_billed"]
    # Asleep every key stays but the nodes' volume key (no node, no volume: program.py, asleep_stack).
    kept = [k for k in keys if not _gone_asleep(k)]
    kept_rotations = sum(1 for k in kept if k["inputs"].get("enableKeyRotation")) * usage["kms_rotations_billed"]
    key_month, rotation = prices.figure("kms_key_month"), prices.figure("kms_rotation_month")
    requests = prices.figure("kms_requests_10k")
    billable = max(0.0, usage["kms_requests_month"] / 10_000 - prices.free_units("kms_requests_10k"))
    return [
        _line("KMS customer-managed keys", len(keys), key_month, 1, len(kept) * key_month.usd),
        _line(
            f"KMS key rotations ({rotated} keys rotated yearly, from their third year)",
            rotations,
            rotation,
            1,
            kept_rotations * rotation.usd,
        ),
        _activity("KMS requests past the free tier (10,000)", billable, billable, requests, _awake(plan)),
    ]


def _bucket_request_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """The task logs bucket's requests: each task's log upload, and the reads of it."""
    if not of_type(plan, "aws:s3/bucket:Bucket"):
        return []
    tasks, awake = _busy_tasks(usage, busy_hours), _awake(plan)
    puts, gets = tasks * usage["task_logs.puts_per_task"], tasks * usage["task_logs.gets_per_task"]
    return [
        _activity("S3 task logs: PUT requests", 0.0, puts, prices.figure("s3_put_1k"), awake, 1000),
        _activity("S3 task logs: GET requests", 0.0, gets, prices.figure("s3_get_1k"), awake, 1000),
    ]


def _cpu_credit_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """Surplus CPU credits of burstable nodes: T3, T3a and T4g launch in unlimited mode unless the
    launch template sets a credit specification (the program's sets none), and bill each vCPU-hour
    above their baseline at the family's rate."""
    lines = []
    for group in node_groups(plan):
        burstable = [t for t in group.instance_types if t.split(".")[0] in ("t3", "t3a", "t4g")]
        if not burstable:
            continue
        used = usage.get(f"cpu_utilization.{group.name}", usage["cpu_utilization.airflow"])
        # Per node-hour: vCPUs x the utilization above the baseline x the family's rate; the dearest type.
        itype = max(burstable, key=lambda t: _surplus_hour(t, used, prices))
        hourly = _surplus_hour(itype, used, prices)
        baseline = prices.figure("ec2_burstable_baseline", itype).usd
        idle_nodes, extra_hours = _node_hours(group, busy_hours)
        label = f"EC2 CPU credits: {group.name} ({itype}, unlimited, {used:.0%} CPU, baseline {baseline:.0%})"
        idle = idle_nodes * hourly * prices.hours
        source = prices.figure("ec2_cpu_credit_vcpu_hour", itype.split(".")[0]).source
        lines.append(Line(label, idle_nodes, hourly, idle, idle + extra_hours * hourly, 0.0, source))
    return lines


def _surplus_hour(itype: str, used: float, prices: PriceTable) -> float:
    """What a burstable node of `itype` at `used` CPU (a fraction of its vCPUs) bills an hour in credits."""
    if itype not in VCPUS:
        raise MissingPrice(f"burstable EC2 instance type {itype} has no vCPU count in sizing/instance-types.json")
    above = max(0.0, used - prices.figure("ec2_burstable_baseline", itype).usd)
    return above * VCPUS[itype] * prices.figure("ec2_cpu_credit_vcpu_hour", itype.split(".")[0]).usd


def usage_driven_lines(plan: Plan, prices: PriceTable, usage: Mapping[str, float], busy_hours: float) -> list[Line]:
    """Every usage-driven line above, in the order `make cost` prints them."""
    return [
        *_cpu_credit_lines(plan, prices, usage, busy_hours),
        *_nat_data_lines(plan, prices, usage, busy_hours),
        *_file_system_lines(plan, prices, usage),
        *_key_lines(plan, prices, usage),
        *_log_lines(plan, prices, usage, busy_hours),
        *_bucket_request_lines(plan, prices, usage, busy_hours),
    ]


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
    if node_groups(plan) and not _awake(plan):
        busy_hours = 0.0  # hibernated: no autoscaler runs to scale the task groups up, no task runs
    lines = _node_lines(plan, prices, busy_hours) + _database_lines(plan, prices, usage)
    lines += _control_plane_lines(plan, prices, today or utc_today()) + _usage_lines(plan, prices, usage)
    lines += _monitoring_lines(plan, prices, usage, busy_hours)
    lines += usage_driven_lines(plan, prices, usage, busy_hours)
    kept = [line for line in lines if line.count or line.monthly_idle or line.monthly_busy]
    return Estimate(kept, not_priced(plan, prices))
