"""The stack's CloudWatch dashboard body, as a pure function of the names it shows.

Widgets, two to a row: alarm states; Airflow (scheduler heartbeat, running / queued tasks and
open slots, DAG processing); pods (pending, control-plane restarts) and nodes (count, workers at
their maximum); the database (CPU, connections, free storage); the file system (throughput
against what it permits, I/O limit); the load balancer's healthy and unhealthy targets.
Airflow's and the pods' widgets need the metrics path (`metrics_namespace`); the database's
need a database the stack created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.observability.cloudwatch import STATSD_PREFIX, statsd_query

WIDTH, HEIGHT = 12, 6
CONTAINER_INSIGHTS = "ContainerInsights"


@dataclass(frozen=True)
class DashboardInputs:
    region: str
    cluster_name: str
    airflow_namespace: str
    file_system_id: str
    load_balancer: str
    """ARN suffix of the NLB (`net/...`)."""
    target_group: str
    """ARN suffix of the API server's target group (`targetgroup/...`)."""
    alarm_arns: Sequence[str]
    metrics_namespace: str | None = None
    """Namespace of Airflow's StatsD metrics; None: no metrics path."""
    statsd_prefix: str = STATSD_PREFIX
    db_instance_identifier: str | None = None
    workers_at_max_metric: tuple[str, str] | None = None
    """(namespace, metric) of the workers-at-maximum count."""


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def _widget(title: str, metrics: list[list[Any]], region: str, stat: str = "Average", **more: Any) -> dict[str, Any]:
    properties = {
        "title": title,
        "region": region,
        "metrics": metrics,
        "stat": stat,
        "period": 300,
        "view": "timeSeries",
    }
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": {**properties, **more}}


def _query(query: str, label: str, query_id: str) -> list[Any]:
    return [{"expression": query, "label": label, "id": query_id}]


def _airflow(i: DashboardInputs) -> list[dict[str, Any]]:
    namespace = i.metrics_namespace
    if namespace is None:
        return []

    def q(function: str, name: str, label: str, query_id: str) -> list[Any]:
        return _query(statsd_query(function, namespace, name, i.statsd_prefix), label, query_id)

    pods = (
        f"SELECT MAX(pod_number_of_container_restarts) FROM SCHEMA({CONTAINER_INSIGHTS}, ClusterName, Namespace, "
        f"PodName) WHERE ClusterName = '{i.cluster_name}' AND Namespace = '{i.airflow_namespace}' GROUP BY PodName"
    )
    return [
        _widget(
            "Scheduler and triggerer heartbeats (per minute)",
            [q("SUM", "scheduler_heartbeat", "scheduler", "s"), q("SUM", "triggerer_heartbeat", "triggerer", "t")],
            i.region,
            period=60,
        ),
        _widget(
            "Tasks: running, queued, open slots",
            [
                q("MAX", "executor.running_tasks", "running", "r"),
                q("MAX", "executor.queued_tasks", "queued", "qd"),
                q("MIN", "executor.open_slots", "open slots", "o"),
            ],
            i.region,
        ),
        _widget(
            "DAG processing: heartbeats, parse time (s), import errors",
            [
                q("SUM", "dag_processor_heartbeat", "heartbeats", "h"),
                q("MAX", "dag_processing.total_parse_time", "parse time", "p"),
                q("MAX", "dag_processing.import_errors", "import errors", "e"),
                q("SUM", "ti_failures", "task failures", "f"),
            ],
            i.region,
        ),
        _widget(
            "Pending pods (cluster)",
            [[CONTAINER_INSIGHTS, "pod_status_pending", "ClusterName", i.cluster_name]],
            i.region,
            stat="Maximum",
        ),
        _widget("Control-plane container restarts", [_query(pods, "", "restarts")], i.region),
    ]


def _nodes(i: DashboardInputs) -> list[dict[str, Any]]:
    metrics: list[list[Any]] = []
    if i.metrics_namespace is not None:
        metrics.append([CONTAINER_INSIGHTS, "cluster_node_count", "ClusterName", i.cluster_name])
    if i.workers_at_max_metric is not None:
        metrics.append([*i.workers_at_max_metric, {"stat": "Sum", "label": "workers at max size (log lines)"}])
    return [_widget("Nodes", metrics, i.region, stat="Maximum")] if metrics else []


def _database(i: DashboardInputs) -> list[dict[str, Any]]:
    if i.db_instance_identifier is None:
        return []

    def rds(metric: str, stat: str = "Average") -> list[Any]:
        return ["AWS/RDS", metric, "DBInstanceIdentifier", i.db_instance_identifier, {"stat": stat}]

    return [
        _widget(
            "Database CPU (%) and connections", [rds("CPUUtilization"), rds("DatabaseConnections", "Maximum")], i.region
        ),
        _widget(
            "Database free storage and memory (bytes)",
            [rds("FreeStorageSpace", "Minimum"), rds("FreeableMemory", "Minimum")],
            i.region,
        ),
    ]


def _storage_and_network(i: DashboardInputs) -> list[dict[str, Any]]:
    efs = ["AWS/EFS", "MeteredIOBytes", "FileSystemId", i.file_system_id]
    permitted = ["AWS/EFS", "PermittedThroughput", "FileSystemId", i.file_system_id]
    lb = ["LoadBalancer", i.load_balancer, "TargetGroup", i.target_group]
    return [
        _widget(
            "File system: throughput used and permitted (bytes/s), I/O limit (%)",
            [
                [{"expression": "used / PERIOD(used)", "label": "used", "id": "u"}],
                [*efs, {"stat": "Sum", "id": "used", "visible": False}],
                [*permitted, {"label": "permitted"}],
                ["AWS/EFS", "PercentIOLimit", "FileSystemId", i.file_system_id, {"yAxis": "right"}],
            ],
            i.region,
        ),
        _widget(
            "API server targets behind the load balancer",
            [
                ["AWS/NetworkELB", "HealthyHostCount", *lb, {"stat": "Minimum"}],
                ["AWS/NetworkELB", "UnHealthyHostCount", *lb, {"stat": "Maximum"}],
            ],
            i.region,
        ),
    ]


def dashboard_body(i: DashboardInputs) -> dict[str, Any]:
    """The dashboard's JSON body: widgets laid out two to a row."""
    alarms = {
        "type": "alarm",
        "width": 2 * WIDTH,
        "height": HEIGHT,
        "properties": {"title": "Alarms", "alarms": sorted(i.alarm_arns)},
    }
    widgets = [*_airflow(i), *_nodes(i), *_database(i), *_storage_and_network(i)]
    for n, widget in enumerate(widgets):
        widget.update(x=(n % 2) * WIDTH, y=HEIGHT * (1 + n // 2))
    return {"widgets": ([{**alarms, "x": 0, "y": 0}] if i.alarm_arns else []) + widgets}
