"""Where the stack's metrics and logs go in CloudWatch: the agent, its metrics and log groups.

The policies that allow it (key, topic, bucket and role policies) are in lib/security/iam_documents.py.

Metrics and container logs: the `amazon-cloudwatch-observability` EKS add-on (chart
aws-observability/helm-charts, read at amazon-cloudwatch-observability-4.7.0, and the operator
aws/amazon-cloudwatch-agent-operator v3.3.0):
- its agent DaemonSet and Fluent Bit both run as `amazon-cloudwatch/cloudwatch-agent` (chart
  `_helpers.tpl`, `templates/linux/fluent-bit-daemonset.yaml`): one IRSA role serves both;
- a custom `agent.config` replaces the add-on's default whole (custom-resource template L100-103),
  so it repeats `kubernetes.enhanced_container_insights` to keep Container Insights;
- with a `statsd` section, the operator adds UDP 8125 to the agent and to its Service
  `cloudwatch-agent` (operator `internal/manifests/collector/ports.go`), whose
  internalTrafficPolicy is Local for a DaemonSet: each pod's StatsD goes to its own node's agent;
- Fluent Bit and the agent create their log groups when missing, without expiry
  (`auto_create_group`): the program creates them first, with a retention and a KMS key.
Airflow's metrics are allow-listed (`STATSD_METRICS`): every StatsD name becomes a custom metric,
billed monthly, and Airflow names many per DAG and task.
"""

from __future__ import annotations

import re
from typing import Any

AGENT_NAMESPACE = "amazon-cloudwatch"
AGENT_NAME = "cloudwatch-agent"
"""The agent's name: its service account's and its Service's (chart `_helpers.tpl`, operator naming)."""
AGENT_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
STATSD_PORT = 8125
STATSD_HOST = f"{AGENT_NAME}.{AGENT_NAMESPACE}.svc.cluster.local"
STATSD_PREFIX = "airflow"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
TOPIC_ARN = re.compile(r"arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}\Z")
MIN_IA_DAYS = 30  # S3 moves nothing to Standard-IA younger than this
CONTAINER_LOG_KINDS = ("application", "dataplane", "host", "performance")
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
"""The retentions CloudWatch Logs accepts (PutRetentionPolicy)."""
STATSD_METRICS = (
    "scheduler_heartbeat",
    "executor.open_slots",
    "executor.queued_tasks",
    "executor.running_tasks",
    "dag_processor_heartbeat",
    "dag_processing.total_parse_time",
    "dag_processing.import_errors",
    "triggerer_heartbeat",
    "ti_failures",
)
"""Airflow 3 StatsD names the alarms and the dashboard read, unchanged from 3.0.2 to 3.3.2
(airflow-core 3.3.2: jobs/scheduler_job_runner.py, executors/base_executor.py `_emit_metrics` and
`_get_metric_name` (no executor suffix with one executor), jobs/dag_processor_job_runner.py,
dag_processing/manager.py, jobs/triggerer_job_runner.py, models/taskinstance.py; task-sdk 1.3.2
execution_time/task_runner.py sends `ti_failures` from the task pod too). 3.2's
`[metrics] legacy_names_on` (default True) only concerns names with variables; none here. The
allow list is matched as patterns anywhere in a name, as in 3.0.2 (observability/metrics/validators.py)."""


def metrics_namespace(cluster_name: str) -> str:
    """CloudWatch namespace of the cluster's Airflow metrics."""
    return f"Airflow/{cluster_name}"


def statsd_query(function: str, namespace: str, name: str, prefix: str = STATSD_PREFIX) -> str:
    """A Metrics Insights query of one Airflow StatsD metric (`prefix.name`) over whatever
    dimensions the agent gives it (`SELECT SUM("airflow.scheduler_heartbeat") FROM "Airflow/c"`)."""
    return f'SELECT {function}("{prefix}.{name}") FROM "{namespace}"'


def container_log_group_prefix(cluster_name: str) -> str:
    return f"/aws/containerinsights/{cluster_name}/"


def container_log_groups(cluster_name: str) -> dict[str, str]:
    """Kind -> the log group Container Insights and Fluent Bit write to."""
    return {kind: container_log_group_prefix(cluster_name) + kind for kind in CONTAINER_LOG_KINDS}


def addon_configuration(cluster_name: str) -> dict[str, Any]:
    """The add-on's configuration: Container Insights (enhanced), a StatsD listener publishing
    to `metrics_namespace`, and container logs through Fluent Bit."""
    return {
        "agent": {
            "config": {
                # No host dimension: one series per metric, whichever node's agent got a packet.
                "agent": {"omit_hostname": True},
                "logs": {
                    "metrics_collected": {
                        "kubernetes": {"cluster_name": cluster_name, "enhanced_container_insights": True}
                    }
                },
                "metrics": {
                    "namespace": metrics_namespace(cluster_name),
                    "metrics_collected": {
                        "statsd": {
                            "service_address": f":{STATSD_PORT}",
                            "metrics_collection_interval": 10,
                            "metrics_aggregation_interval": 60,
                        }
                    },
                },
            }
        },
        "containerLogs": {"enabled": True},
    }
