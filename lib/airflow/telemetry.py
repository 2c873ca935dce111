"""Airflow's side of metrics and long-term logs, as chart values (merged before the user's).

- StatsD: to the CloudWatch agent (lib/observability/cloudwatch.py) instead of the chart's statsd exporter, only
  the allow-listed names (`STATSD_METRICS`); without a target, the chart's exporter as before.
- Remote logs: task logs stay on the EFS logs volume, where the API server reads running tasks'
  logs, and are also uploaded to S3 when a task or a trigger ends (read again in airflow-core
  3.3.2 and task-sdk 1.3.2, unchanged from 3.0.2: the supervisor's `_upload_logs` after the task
  exits, the triggerer's `upload_to_remote` when a trigger ends, both through sdk/log.py; the API
  server's file_task_handler `_read` reads S3 first, then the local file; providers-amazon 9.39.0
  S3RemoteLogIO reads `remote_base_log_folder` and `delete_local_logs`). `delete_local_logs` stays off.
  One IAM role serves only that: the API server's and the triggerer's service accounts carry it
  (IRSA); the task pods' account carries the task role teams extend, so their connection
  assumes the logs role from it (`role_arn`: AwsBaseHook's assume-role session, provider
  amazon 9.9 hooks/base_aws.py, still read from the extra in 9.39.0 utils/connection_wrapper.py).
  Each component gets its own `AIRFLOW_CONN_AWS_LOGS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lib.airflow.secrets import RELEASE_NAME
from lib.observability.cloudwatch import STATSD_METRICS

LOGS_CONNECTION_ID = "aws_logs"
LOGS_PREFIX = "task-logs"
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
REMOTE_LOG_READERS = ("apiServer", "triggerer")
"""Chart sections whose pods use the logs role directly (their service accounts carry it)."""


def service_account_name(section: str, release: str = RELEASE_NAME) -> str:
    """The chart's service account of a section: `<release>-api-server`, `<release>-triggerer`."""
    return f"{release}-{ {'apiServer': 'api-server', 'dagProcessor': 'dag-processor'}.get(section, section) }"


@dataclass(frozen=True)
class StatsdTarget:
    host: str
    port: int
    prefix: str


@dataclass(frozen=True)
class RemoteLogs:
    bucket: str
    role_arn: str
    region: str
    chained: bool = False
    """The readers' service accounts carry another role (the secrets backend's,
    lib/airflow/secrets_backend.py): their connection assumes the logs role from it, as the task pods' does."""


def _connection(region: str, role_arn: str = "") -> str:
    extra = {"region_name": region, **({"role_arn": role_arn} if role_arn else {})}
    return json.dumps({"conn_type": "aws", "extra": extra}, sort_keys=True)


def telemetry_values(statsd: StatsdTarget | None, remote_logs: RemoteLogs | None) -> dict[str, Any]:
    """The values fragment for metrics and remote logs."""
    # The chart's statsd exporter only without a target: the agent receives StatsD instead.
    values: dict[str, Any] = {"config": {"logging": {"remote_logging": "False"}}, "statsd": {"enabled": statsd is None}}
    if statsd is not None:
        values["config"]["metrics"] = {
            "statsd_on": "True",
            "statsd_host": statsd.host,
            "statsd_port": str(statsd.port),
            "statsd_prefix": statsd.prefix,
            "metrics_allow_list": ",".join(STATSD_METRICS),
        }
    if remote_logs is None:
        return values
    values["config"]["logging"] = {
        "remote_logging": "True",
        "remote_base_log_folder": f"s3://{remote_logs.bucket}/{LOGS_PREFIX}",
        "remote_log_conn_id": LOGS_CONNECTION_ID,
        "delete_local_logs": "False",
    }
    env = f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}"
    for section in REMOTE_LOG_READERS:
        if remote_logs.chained:
            values[section] = {"env": [{"name": env, "value": _connection(remote_logs.region, remote_logs.role_arn)}]}
            continue
        values[section] = {
            "serviceAccount": {"annotations": {IRSA_ROLE_ANNOTATION: remote_logs.role_arn}},
            "env": [{"name": env, "value": _connection(remote_logs.region)}],
        }
    task_env = [{"name": env, "value": _connection(remote_logs.region, remote_logs.role_arn)}]
    values["workers"] = {"kubernetes": {"env": task_env}}  # the task pods' (chart 1.22: `workers.env` deprecated)
    return values
