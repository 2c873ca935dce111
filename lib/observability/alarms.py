"""The stack's CloudWatch alarms, as plain specs: what each watches, its threshold and what to do.

No Pulumi here: dimension values are whatever the caller passes (plain strings in tests, outputs
in the program), so tests check each alarm's metric, namespace, dimensions and threshold source
without a cloud. Every threshold comes from `THRESHOLDS` by name (`alarmThresholds` overrides
it); every description names the runbook section to read first (`docs/runbook.md`).
Airflow's own alarms are in `lib/airflow/alarms.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lib.database.postgres import instance_memory_gib, max_connections

RUNBOOK = "docs/runbook.md"
PERIOD_SECONDS = 300
GIB = 1024**3


@dataclass(frozen=True)
class Threshold:
    default: float
    low: float
    high: float
    unit: str


THRESHOLDS: dict[str, Threshold] = {
    "dbCpuPercent": Threshold(80, 10, 100, "percent CPU, 15 minutes"),
    "dbFreeStoragePercent": Threshold(10, 1, 50, "percent of the allocated storage left"),
    "dbFreeMemoryPercent": Threshold(5, 1, 50, "percent of the class's memory left"),
    "dbConnectionsPercent": Threshold(80, 10, 100, "percent of max_connections in use"),
    "efsIoLimitPercent": Threshold(90, 10, 100, "percent of the General Purpose I/O limit"),
    "efsThroughputPercent": Threshold(80, 10, 100, "percent of the permitted throughput"),
    "nlbHealthyTargets": Threshold(1, 1, 20, "fewest healthy API server targets"),
    "workersAtMaxMinutes": Threshold(30, 5, 1440, "minutes the workers group stays at its maximum"),
    "natPortAllocationErrors": Threshold(1, 1, 1_000_000, "port allocation errors in 5 minutes"),
    "natPacketsDropped": Threshold(1000, 1, 100_000_000, "packets dropped in 5 minutes"),
    "natInstanceFailedCheckMinutes": Threshold(2, 1, 5, "minutes of 5 with a failed status check"),
    "schedulerHeartbeatMinutes": Threshold(5, 5, 60, "minutes without a scheduler heartbeat"),
    "openSlotsZeroMinutes": Threshold(30, 5, 1440, "minutes with no open executor slot"),
    "dagProcessingStallMinutes": Threshold(15, 5, 1440, "minutes without a DAG processor heartbeat"),
    "taskFailures": Threshold(10, 1, 1_000_000, "task failures in 15 minutes"),
}


def thresholds(overrides: Mapping[str, Any]) -> dict[str, float]:
    """Every threshold: the defaults, then `overrides` (name -> number). Raises ValueError naming
    an unknown name or a value out of range."""
    unknown = sorted(set(overrides) - set(THRESHOLDS))
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not an alarm threshold; known: {', '.join(THRESHOLDS)}")
    result = {name: t.default for name, t in THRESHOLDS.items()}
    for name, value in overrides.items():
        t = THRESHOLDS[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not t.low <= value <= t.high:
            raise ValueError(f"{name}: {value!r} is not a number from {t.low:g} to {t.high:g} ({t.unit})")
        result[name] = float(value)
    return result


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Mapping[str, Any]
    statistic: str = "Average"


@dataclass(frozen=True)
class Alarm:
    """One CloudWatch alarm: a `metric`, or an `expression` (metric math over `inputs`, by id; or,
    without inputs, a Metrics Insights query), against a threshold."""

    name: str
    """Suffix of the alarm's name and of its resource's (`db-cpu`)."""
    threshold_key: str
    """The `THRESHOLDS` entry the threshold comes from."""
    threshold: float
    comparison: str
    description: str
    metric: Metric | None = None
    expression: str = ""
    inputs: Mapping[str, Metric] | None = None
    period: int = PERIOD_SECONDS
    evaluation_periods: int = 3
    missing_data: str = "notBreaching"

    def __post_init__(self) -> None:
        if (self.metric is None) == (not self.expression):
            raise ValueError(f"alarm {self.name}: give a metric or an expression, not both or neither")


def about(what: str, first: str, section: str) -> str:
    return f"{what} First: {first} Runbook: {RUNBOOK}#{section}"


def periods(minutes: float) -> int:
    return max(1, round(minutes * 60 / PERIOD_SECONDS))


def database_alarms(identifier: Any, instance_class: str, allocated_gib: int, t: Mapping[str, float]) -> list[Alarm]:
    """CPU, free storage, free memory and connections of the RDS instance `identifier`."""

    def rds(name: str, statistic: str) -> Metric:
        return Metric("AWS/RDS", name, {"DBInstanceIdentifier": identifier}, statistic)

    memory = instance_memory_gib(instance_class) * GIB
    return [
        Alarm(
            "db-cpu",
            "dbCpuPercent",
            t["dbCpuPercent"],
            "GreaterThanOrEqualToThreshold",
            about("Metadata database CPU is high.", "Performance Insights' top SQL; the scheduler count.", "db-cpu"),
            rds("CPUUtilization", "Average"),
        ),
        Alarm(
            "db-free-storage",
            "dbFreeStoragePercent",
            allocated_gib * GIB * t["dbFreeStoragePercent"] / 100,
            "LessThanOrEqualToThreshold",
            about(
                "Metadata database storage is nearly full.",
                "`airflow db clean`; the autoscaling ceiling.",
                "db-free-storage",
            ),
            rds("FreeStorageSpace", "Minimum"),
        ),
        Alarm(
            "db-free-memory",
            "dbFreeMemoryPercent",
            memory * t["dbFreeMemoryPercent"] / 100,
            "LessThanOrEqualToThreshold",
            about("Metadata database memory is low.", "the connection count; then a larger class.", "db-free-memory"),
            rds("FreeableMemory", "Minimum"),
        ),
        Alarm(
            "db-connections",
            "dbConnectionsPercent",
            round(max_connections(instance_class) * t["dbConnectionsPercent"] / 100),
            "GreaterThanOrEqualToThreshold",
            about(
                "Metadata database connections near max_connections.",
                "PgBouncer's pools (SHOW POOLS).",
                "db-connections",
            ),
            rds("DatabaseConnections", "Maximum"),
        ),
    ]


def file_system_alarms(file_system_id: Any, t: Mapping[str, float]) -> list[Alarm]:
    """I/O and throughput limits of the EFS file system `file_system_id`."""
    dims = {"FileSystemId": file_system_id}
    return [
        Alarm(
            "efs-io-limit",
            "efsIoLimitPercent",
            t["efsIoLimitPercent"],
            "GreaterThanOrEqualToThreshold",
            about(
                "EFS is near its I/O limit: DAG parsing and log writes slow down.",
                "DAG processor parse times.",
                "efs-limits",
            ),
            Metric("AWS/EFS", "PercentIOLimit", dims, "Maximum"),
        ),
        Alarm(
            "efs-throughput",
            "efsThroughputPercent",
            t["efsThroughputPercent"],
            "GreaterThanOrEqualToThreshold",
            about("EFS throughput is near what it permits.", "who writes: task logs, git-sync.", "efs-limits"),
            # Bytes a second over the period, against what EFS permits (bytes a second).
            expression="100 * (used / PERIOD(used)) / permitted",
            inputs={
                "used": Metric("AWS/EFS", "MeteredIOBytes", dims, "Sum"),
                "permitted": Metric("AWS/EFS", "PermittedThroughput", dims, "Average"),
            },
        ),
    ]


def load_balancer_alarms(load_balancer: Any, target_group: Any, t: Mapping[str, float]) -> list[Alarm]:
    """The API server's targets behind the NLB (ARN suffixes: `net/...`, `targetgroup/...`)."""
    dims = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
    return [
        Alarm(
            "nlb-healthy-targets",
            "nlbHealthyTargets",
            t["nlbHealthyTargets"],
            "LessThanThreshold",
            about(
                "Too few healthy API server targets behind the load balancer: the UI and the task pods' "
                "execution API are failing.",
                "the API server pods and their readiness.",
                "nlb-healthy-targets",
            ),
            Metric("AWS/NetworkELB", "HealthyHostCount", dims, "Minimum"),
            evaluation_periods=2,
            missing_data="breaching",  # no data at all: no target group metrics, nothing healthy
        ),
    ]


def nat_alarms(nat_gateway_ids: Sequence[Any], t: Mapping[str, float]) -> list[Alarm]:
    """Port allocation errors and dropped packets, per NAT gateway (index: its zone's order)."""
    alarms = []
    for i, nat in enumerate(nat_gateway_ids):
        dims = {"NatGatewayId": nat}
        alarms += [
            Alarm(
                f"nat-{i}-port-allocation",
                "natPortAllocationErrors",
                t["natPortAllocationErrors"],
                "GreaterThanOrEqualToThreshold",
                about(
                    "A NAT gateway ran out of source ports: outbound connections fail.",
                    "which pods open many connections to one destination.",
                    "nat",
                ),
                Metric("AWS/NATGateway", "ErrorPortAllocation", dims, "Sum"),
                evaluation_periods=1,
            ),
            Alarm(
                f"nat-{i}-packets-dropped",
                "natPacketsDropped",
                t["natPacketsDropped"],
                "GreaterThanOrEqualToThreshold",
                about("A NAT gateway drops packets.", "the AWS Health Dashboard for the zone.", "nat"),
                Metric("AWS/NATGateway", "PacketsDropCount", dims, "Sum"),
            ),
        ]
    return alarms


def nat_instance_alarms(instance_ids: Sequence[Any], t: Mapping[str, float]) -> list[Alarm]:
    """A failed status check of the NAT instance (`natGateways: instance`): every node's egress
    goes through it. EC2's automatic recovery (on by default for its type) moves it to healthy
    hardware on a failed system check; a failed instance check is the operating system's."""
    return [
        Alarm(
            f"nat-instance-{i}-status",
            "natInstanceFailedCheckMinutes",
            t["natInstanceFailedCheckMinutes"],
            "GreaterThanOrEqualToThreshold",
            about(
                "The NAT instance fails a status check: the nodes cannot pull images or reach the internet.",
                "its system log (`aws ec2 get-console-output`); replace it if it does not recover.",
                "nat-instance",
            ),
            # Status checks are reported every minute, 0 or 1: the sum is the failed minutes.
            Metric("AWS/EC2", "StatusCheckFailed", {"InstanceId": instance}, "Sum"),
            evaluation_periods=1,
            missing_data="breaching",  # a stopped or terminated instance reports nothing
        )
        for i, instance in enumerate(instance_ids)
    ]
