"""Alarms on Airflow's own health and on the task capacity, as plain specs (`lib/observability/alarms.py`).

Airflow's metrics arrive as StatsD through the CloudWatch agent (lib/observability/cloudwatch.py), which adds
dimensions of its own (`metric_type`); their alarms use a Metrics Insights query, which sums over
whatever dimensions a metric carries, instead of naming them. `ti_failures` counts, in Airflow
3.3.2, a task that raises too (the task pod's runner sends it: task-sdk 1.3.2
execution_time/task_runner.py) besides the failures the executor reports (a pod that dies: OOM,
eviction, image pull); 3.0.2 counted only the latter (apache/airflow#52254, fixed for 3.1.6).
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.observability.alarms import Alarm, Metric, about, periods
from lib.observability.cloudwatch import statsd_query


def workers_at_max_alarm(namespace: str, metric: str, t: Mapping[str, float]) -> Alarm:
    """The workers group stays at its maximum size (from the autoscaler's log, `metric`)."""
    minutes = t["workersAtMaxMinutes"]
    return Alarm(
        "workers-at-max",
        "workersAtMaxMinutes",
        1,
        "GreaterThanOrEqualToThreshold",
        about(
            "The workers node group is at its maximum size and the autoscaler cannot add nodes: tasks queue.",
            "pending task pods; raise the group's maxSize or parallelism's share.",
            "workers-at-max",
        ),
        Metric(namespace, metric, {}, "Sum"),
        evaluation_periods=periods(minutes),
    )


def airflow_alarms(namespace: str, prefix: str, t: Mapping[str, float]) -> list[Alarm]:
    """Scheduler heartbeat, executor slots, DAG processor heartbeat, task failures (StatsD)."""

    def query(function: str, name: str) -> str:
        return statsd_query(function, namespace, name, prefix)

    return [
        Alarm(
            "scheduler-heartbeat",
            "schedulerHeartbeatMinutes",
            1,
            "LessThanThreshold",
            about(
                "No scheduler heartbeat: nothing is being scheduled.",
                "the scheduler pods and their logs.",
                "scheduler-heartbeat",
            ),
            expression=query("SUM", "scheduler_heartbeat"),
            period=60,
            evaluation_periods=int(t["schedulerHeartbeatMinutes"]),
            missing_data="breaching",
        ),
        Alarm(
            "executor-open-slots",
            "openSlotsZeroMinutes",
            1,
            "LessThanThreshold",
            about(
                "The executor has had no open slot: tasks wait for parallelism.",
                "running tasks; stuck pods.",
                "executor-open-slots",
            ),
            expression=query("MAX", "executor.open_slots"),
            evaluation_periods=periods(t["openSlotsZeroMinutes"]),
        ),
        Alarm(
            "dag-processing-stalled",
            "dagProcessingStallMinutes",
            1,
            "LessThanThreshold",
            about(
                "No DAG processor heartbeat: DAG changes are not picked up.",
                "the DAG processor pods.",
                "dag-processing-stalled",
            ),
            expression=query("SUM", "dag_processor_heartbeat"),
            evaluation_periods=periods(t["dagProcessingStallMinutes"]),
            missing_data="breaching",
        ),
        Alarm(
            "task-failures",
            "taskFailures",
            t["taskFailures"],
            "GreaterThanOrEqualToThreshold",
            about("Task failures spiked.", "the failed tasks' logs in the UI.", "task-failures"),
            expression=query("SUM", "ti_failures"),
            period=900,
            evaluation_periods=1,
        ),
    ]
