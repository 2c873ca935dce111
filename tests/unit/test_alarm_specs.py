"""The pure alarm, dashboard and telemetry helpers, without a plan."""

from __future__ import annotations

import pytest

from lib.observability.alarms import THRESHOLDS, Alarm, Metric, periods, thresholds
from lib.observability.dashboard import DashboardInputs, dashboard_body
from lib.security.iam_documents import alerts_key_policy, logs_key_policy


def test_thresholds_are_the_defaults_with_overrides_checked_by_name_and_range() -> None:
    assert thresholds({}) == {name: t.default for name, t in THRESHOLDS.items()}
    assert thresholds({"taskFailures": 3})["taskFailures"] == 3.0
    with pytest.raises(ValueError, match="'taskFailure' is not an alarm threshold; known: dbCpuPercent"):
        thresholds({"taskFailure": 3})
    for bad in (0, True, "5", 101):
        with pytest.raises(ValueError, match=r"dbCpuPercent: .* is not a number from 10 to 100"):
            thresholds({"dbCpuPercent": bad})


def test_an_alarm_reads_a_metric_or_an_expression() -> None:
    metric = Metric("AWS/EFS", "PercentIOLimit", {"FileSystemId": "fs-1"})
    with pytest.raises(ValueError, match="give a metric or an expression"):
        Alarm("x", "efsIoLimitPercent", 1, "GreaterThanThreshold", "d", metric, expression="m1")
    with pytest.raises(ValueError, match="give a metric or an expression"):
        Alarm("x", "efsIoLimitPercent", 1, "GreaterThanThreshold", "d")
    assert [periods(m) for m in (1, 5, 7, 30, 1440)] == [1, 1, 1, 6, 288]


def test_the_dashboard_shows_airflow_only_with_the_metrics_path() -> None:
    base = DashboardInputs("us-east-1", "c", "airflow", "fs-1", "net/n/1", "targetgroup/t/1", alarm_arns=[])
    plain = dashboard_body(base)
    assert [w["properties"]["title"] for w in plain["widgets"]] == [
        "File system: throughput used and permitted (bytes/s), I/O limit (%)",
        "API server targets behind the load balancer",
    ]
    full = dashboard_body(
        DashboardInputs(
            **{**base.__dict__, "metrics_namespace": "Airflow/c", "db_instance_identifier": "db", "alarm_arns": ["a"]}
        )
    )
    assert full["widgets"][0]["type"] == "alarm" and len(full["widgets"]) == 11
    assert [(w["x"], w["y"]) for w in full["widgets"][1:4]] == [(0, 6), (12, 6), (0, 12)]


def test_key_policies_grant_each_service_only_what_it_needs() -> None:
    alerts = alerts_key_policy("111122223333", "eu-west-1")["Statement"]
    assert [s["Action"] for s in alerts[1:]] == [["kms:Decrypt", "kms:GenerateDataKey*"]] * 2
    assert [s["Condition"] for s in alerts[1:]] == [
        {
            "StringEquals": {"aws:SourceAccount": "111122223333"},
            "ArnLike": {"aws:SourceArn": f"arn:aws:{source}"},
        }
        for source in ("cloudwatch:eu-west-1:111122223333:alarm:*", "rds:eu-west-1:111122223333:db:*")
    ]
    (logs,) = logs_key_policy("111122223333", "eu-west-1", "/aws/containerinsights/c/")["Statement"][1:]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    groups = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/containerinsights/c/*"
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups}}
