"""The logs bucket and its role, the rendered chart's metrics and remote-logging settings, the
observability config errors and the cost of monitoring."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.errors import ConfigError
from lib.airflow.telemetry import LOGS_CONNECTION_ID
from lib.observability.cloudwatch import STATSD_HOST, STATSD_METRICS
from offline.mocks import Plan, ProgramError, run_program
from tests.support.renders import Rendered

CONNECTION_ENV = f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}"


def test_the_logs_bucket_is_private_encrypted_tls_only_and_expires(prod: Plan) -> None:
    bucket = prod.one("aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.inputs["bucketPrefix"] == "airflow-prod-task-logs-"
    block = prod.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = prod.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (rule,) = prod.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs[
        "rules"
    ]
    default = rule["applyServerSideEncryptionByDefault"]
    key = prod.one("aws:kms/key:Key", "airflow-prod-task-logs-key")
    assert default["sseAlgorithm"] == "aws:kms" and rule["bucketKeyEnabled"] is True and key.protect
    assert default["kmsMasterKeyId"] == prod.component_outputs[prod.one("airflow:index:LogArchive").urn]["kmsKeyArn"]
    (lifecycle,) = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert lifecycle["filter"]["prefix"] == "task-logs/" and lifecycle["expiration"]["days"] == 365
    assert lifecycle["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"}]
    (deny,) = json.loads(prod.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{prod.outputs['task_logs_bucket_name']}"
    assert deny["Effect"] == "Deny" and deny["Resource"] == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_logs_role_reads_and_writes_only_the_logs(prod: Plan) -> None:
    role = prod.one("aws:iam/role:Role", "airflow-prod-task-logs-role")
    web, assume = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subjects = web["Condition"]["StringEquals"][next(k for k in web["Condition"]["StringEquals"] if k.endswith(":sub"))]
    assert subjects == [
        "system:serviceaccount:airflow:airflow-api-server",
        "system:serviceaccount:airflow:airflow-triggerer",
    ]
    assert assume == {
        "Effect": "Allow",
        "Principal": {"AWS": [prod.outputs["airflow_worker_role_arn"]]},
        "Action": "sts:AssumeRole",
    }
    policy = json.loads(
        prod.one("aws:iam/rolePolicy:RolePolicy", "airflow-prod-task-logs-role-policy").inputs["policy"]
    )
    arn = f"arn:aws:s3:::{prod.outputs['task_logs_bucket_name']}"
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources["ReadWriteLogs"] == f"{arn}/task-logs/*" and resources["ListLogs"] == arn
    # Listing unconditioned: a HEAD of a missing log then answers 404 (tests/plans/test_task_logs_policy.py).
    assert policy["Statement"][0] == {"Sid": "ListLogs", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn}
    assert not any(r == "*" for r in resources.values())
    # The worker role itself stays empty: teams attach theirs (contract), the logs role is separate.
    assert not [
        p for p in prod.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("airflow-prod-airflow-worker")
    ]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env") or []}


def test_the_rendered_chart_sends_statsd_to_the_agent_and_logs_to_the_bucket(prod: Plan, dev: Plan) -> None:
    r = Rendered(prod)
    cfg = r.airflow_cfg()
    assert (cfg["metrics.statsd_on"], cfg["metrics.statsd_host"], cfg["metrics.statsd_port"]) == (
        "True",
        STATSD_HOST,
        "8125",
    )
    assert cfg["metrics.metrics_allow_list"] == ",".join(STATSD_METRICS)
    assert not [o for o in r.objects if o["metadata"]["name"] == "airflow-statsd"]
    bucket, role = prod.outputs["task_logs_bucket_name"], prod.outputs["task_logs_role_arn"]
    assert cfg["logging.remote_logging"] == "True" and cfg["logging.delete_local_logs"] == "False"
    assert cfg["logging.remote_base_log_folder"] == f"s3://{bucket}/task-logs"
    assert cfg["logging.remote_log_conn_id"] == LOGS_CONNECTION_ID
    for deployment in ("airflow-api-server", "airflow-triggerer"):
        extra = json.loads(_env(r.deployment_pod(deployment)["containers"][0])[CONNECTION_ENV])["extra"]
        assert extra == {"region_name": "us-east-1"}, deployment  # the service account's own role (IRSA)
    task = json.loads(_env(r.pod_template()["spec"]["containers"][0])[CONNECTION_ENV])["extra"]
    assert task == {"region_name": "us-east-1", "role_arn": role}  # assumed from the task pods' role
    assert CONNECTION_ENV not in _env(r.deployment_pod("airflow-scheduler")["containers"][0])
    local = Rendered(dev).airflow_cfg()  # dev: the chart's own exporter, logs on EFS only
    assert local["metrics.statsd_host"] == "airflow-statsd" and local["logging.remote_logging"] == "False"


BAD = [
    ({"alarmThresholds": {"dbCpu": 50}}, "alarmThresholds", "known: dbCpuPercent"),
    ({"alarmThresholds": {"dbCpuPercent": 101}}, "alarmThresholds", "from 10 to 100"),
    ({"alarmEmails": ["not-an-address"]}, "alarmEmails", "an email address"),
    ({"alarmEmails": ["a@example.com", "a@example.com"]}, "alarmEmails", "twice"),
    ({"alarmTopicArn": "arn:aws:sqs:us-east-1:123456789012:q"}, "alarmTopicArn", "an SNS topic ARN"),
    ({"alarms": False, "alarmEmails": ["a@example.com"]}, "alarmEmails", "applies only when alarms is set"),
    ({"logRetentionDays": 8, "clusterMetrics": True}, "logRetentionDays", "7, 14, 30"),
    ({"logRetentionDays": 90}, "logRetentionDays", "applies only when clusterMetrics is set"),
    ({"remoteLogs": True, "remoteLogsTransitionDays": 7}, "remoteLogsTransitionDays", "30 to 3650"),
    ({"remoteLogs": True, "remoteLogsExpirationDays": 30}, "remoteLogsExpirationDays", "31 to 3650"),
]


@pytest.mark.parametrize(("overrides", "key", "says"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_observability_config_names_the_key(overrides: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", overrides)
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == key and says in str(cause), cause
    assert failure.value.registrations == []


def test_the_estimate_counts_what_monitoring_adds(prod: Plan) -> None:
    from tests.support.plans import cost_report, plan_once

    lines = {line["resource_type"]: line for line in cost_report(prod, "prod")["lines"]}
    alarm_metrics = sum(
        max(1, sum(1 for q in a.inputs.get("metricQueries") or [] if q.get("metric")))
        for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    )
    assert lines["CloudWatch alarm metrics"]["count"] == alarm_metrics == 19  # the EFS math alarm reads 2
    assert lines["CloudWatch dashboards"]["count"] == 1
    assert lines["CloudWatch custom metrics (Airflow StatsD, log metrics)"]["count"] == len(STATSD_METRICS) + 1
    insights = lines["Container Insights (enhanced observability), per node"]
    assert insights["count"] == 5 and insights["monthly_hibernated"] == 0  # 2 system + 3 airflow, workers from 0
    assert lines["S3 task logs (GB)"]["count"] == 200
    without = plan_once("prod", {"alarms": False, "dashboard": False, "clusterMetrics": False})
    bare = {line["resource_type"] for line in cost_report(without, "prod")["lines"]}
    assert not {t for t in lines if t.startswith(("CloudWatch alarm", "CloudWatch dash", "Container"))} & bare
