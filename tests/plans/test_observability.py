"""Alarms, the alerts topic, the dashboard, the metrics path and the logs bucket, in the plans.

Every alarm must watch this stack's own resources (dimensions read from the plan's outputs, not
literals), take its threshold from `alarmThresholds`, and notify the topic; the dashboard must
show the same resources and no secret; the rendered chart must send StatsD to the agent and
task logs to the bucket through the role that only it uses.
"""

from __future__ import annotations

import json
from typing import Any

from lib.database.postgres import instance_memory_gib, max_connections
from lib.observability.alarms import GIB, THRESHOLDS
from lib.observability.cloudwatch import STATSD_METRICS
from offline.mocks import Plan
from tests.support.plans import ALARM, alarms, plan_once

SECRET_OUTPUTS = ("airflow_admin_password", "cluster_kubeconfig")


def component_output(plan: Plan, type_: str, name: str) -> Any:
    return plan.component_outputs[plan.one(type_).urn][name]


def test_prod_alarms_watch_this_stacks_resources_and_notify_the_topic(prod: Plan) -> None:
    found, out = alarms(prod), prod.outputs
    topic = out["sns_alerts_topic_arn"]
    assert topic == component_output(prod, "airflow:index:Alerts", "topicArn")
    assert len(found) == 18  # database 4, file system 2, load balancer 1, NAT 2 x 3, workers 1, Airflow 4
    for name, alarm in found.items():
        assert alarm["alarmActions"] == alarm["okActions"] == [topic], name
        assert alarm["actionsEnabled"] is True and "docs/runbook.md#" in alarm["alarmDescription"], name
    db = prod.one("aws:rds/instance:Instance").inputs["identifier"]
    for name, metric in {
        "db-cpu": "CPUUtilization",
        "db-free-storage": "FreeStorageSpace",
        "db-free-memory": "FreeableMemory",
        "db-connections": "DatabaseConnections",
    }.items():
        assert (found[name]["namespace"], found[name]["metricName"]) == ("AWS/RDS", metric)
        assert found[name]["dimensions"] == {"DBInstanceIdentifier": db}
    efs = {"FileSystemId": out["efs_file_system_id"]}
    assert (found["efs-io-limit"]["metricName"], found["efs-io-limit"]["dimensions"]) == ("PercentIOLimit", efs)
    queries = {q["id"]: q for q in found["efs-throughput"]["metricQueries"]}
    assert queries["used"]["metric"]["dimensions"] == queries["permitted"]["metric"]["dimensions"] == efs
    assert queries["result"]["expression"] == "100 * (used / PERIOD(used)) / permitted"
    target_group = component_output(prod, "airflow:index:LoadBalancer", "targetGroupArn")
    assert found["nlb-healthy-targets"]["dimensions"] == {
        "LoadBalancer": out["nlb_arn"].split(":loadbalancer/")[1],
        "TargetGroup": target_group.split(":", 5)[5],
    }
    assert found["nlb-healthy-targets"]["treatMissingData"] == "breaching"
    nats = [found[f"nat-{i}-port-allocation"]["dimensions"]["NatGatewayId"] for i in range(3)]
    assert nats == out["vpc_nat_gateway_ids"]
    assert [found[f"nat-{i}-packets-dropped"]["metricName"] for i in range(3)] == ["PacketsDropCount"] * 3


def test_airflow_alarms_read_the_agents_namespace_and_the_autoscalers_log(prod: Plan) -> None:
    found, namespace = alarms(prod), prod.outputs["cloudwatch_metrics_namespace"]
    assert namespace == "Airflow/airflow-prod"
    for name, metric in {
        "scheduler-heartbeat": "airflow.scheduler_heartbeat",
        "executor-open-slots": "airflow.executor.open_slots",
        "dag-processing-stalled": "airflow.dag_processor_heartbeat",
        "task-failures": "airflow.ti_failures",
    }.items():
        (query,) = found[name]["metricQueries"]
        assert query["expression"].endswith(f'("{metric}") FROM "{namespace}"'), name
        assert metric.removeprefix("airflow.") in STATSD_METRICS  # Airflow is allowed to send it
    assert found["scheduler-heartbeat"]["treatMissingData"] == "breaching"
    log_filter = prod.one("aws:cloudwatch/logMetricFilter:LogMetricFilter").inputs
    workers = prod.outputs["node_group_names"]["workers"]
    assert log_filter["logGroupName"] == prod.outputs["cloudwatch_container_log_group"]
    assert log_filter["pattern"] == f'"max size reached" "eks-{workers}-"'
    transform = log_filter["metricTransformation"]
    assert (found["workers-at-max"]["namespace"], found["workers-at-max"]["metricName"]) == (
        transform["namespace"],
        transform["name"],
    )
    assert found["workers-at-max"]["evaluationPeriods"] == 6  # 30 minutes of 5-minute periods


def test_every_threshold_comes_from_alarm_thresholds(prod: Plan) -> None:
    base = alarms(prod)
    db = prod.one("aws:rds/instance:Instance").inputs
    assert base["db-connections"]["threshold"] == round(max_connections(db["instanceClass"]) * 0.8)
    assert base["db-free-memory"]["threshold"] == instance_memory_gib(db["instanceClass"]) * GIB * 0.05
    assert base["db-free-storage"]["threshold"] == db["allocatedStorage"] * GIB * 0.10
    changed = {name: t.low + 1 if t.high > t.low + 1 else t.high for name, t in THRESHOLDS.items()}
    after = alarms(plan_once("prod", {"alarmThresholds": changed}))
    differs = {name for name in base if base[name] != after[name]}
    assert differs == set(base)  # every alarm moved with its threshold


def test_asleep_no_alarm_or_dashboard_but_the_topic_and_dev_can_switch_each_part_off(dev: Plan) -> None:
    asleep = plan_once("dev", {"hibernate": True})
    assert not alarms(asleep) and not asleep.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert asleep.one("aws:sns/topic:Topic").urn == dev.one("aws:sns/topic:Topic").urn  # subscribers stay
    assert asleep.outputs["sns_alerts_topic_arn"] == dev.outputs["sns_alerts_topic_arn"] != ""
    assert {a["actionsEnabled"] for a in alarms(dev).values()} == {True}
    assert not dev.of_type("airflow:index:ClusterTelemetry") and not dev.of_type("aws:s3/bucket:Bucket")
    off = plan_once("dev", {"alarms": False, "dashboard": False})
    for gone in ("airflow:index:Alerts", "airflow:index:Alarms", "airflow:index:Dashboard", ALARM):
        assert not off.of_type(gone), gone
    assert off.outputs["sns_alerts_topic_arn"] == off.outputs["cloudwatch_dashboard_url"] == ""


def test_the_topic_is_encrypted_and_only_alarms_and_database_events_publish(prod: Plan) -> None:
    topic = prod.one("aws:sns/topic:Topic")
    key = prod.one("aws:kms/key:Key", "airflow-prod-alerts-key")
    assert topic.inputs["kmsMasterKeyId"] == component_output(prod, "airflow:index:Alerts", "kmsKeyArn")
    assert key.inputs["enableKeyRotation"] is True and key.protect
    key_policy = json.loads(key.inputs["policy"])["Statement"]
    assert [s["Principal"] for s in key_policy] == [
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"Service": "cloudwatch.amazonaws.com"},
        {"Service": "events.rds.amazonaws.com"},
    ]
    policy = json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])["Statement"]
    assert {s["Principal"]["Service"] for s in policy} == {"cloudwatch.amazonaws.com", "events.rds.amazonaws.com"}
    sources = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:*", "arn:aws:rds:us-east-1:123456789012:db:*"]
    assert [s["Condition"] for s in policy] == [
        {"StringEquals": {"aws:SourceAccount": "123456789012"}, "ArnLike": {"aws:SourceArn": arn}} for arn in sources
    ]
    assert [s["Condition"] for s in key_policy[1:]] == [s["Condition"] for s in policy]
    events = prod.one("aws:rds/eventSubscription:EventSubscription").inputs
    assert events["sourceIds"] == [prod.one("aws:rds/instance:Instance").inputs["identifier"]]
    assert "failover" in events["eventCategories"] and events["snsTopic"] == prod.outputs["sns_alerts_topic_arn"]


def test_a_brought_topic_is_notified_and_emails_subscribe_to_ours() -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:platform-alerts"
    brought = plan_once("dev", {"alarmTopicArn": arn})
    assert not brought.of_type("aws:sns/topic:Topic") and brought.outputs["sns_alerts_topic_arn"] == arn
    assert {a["alarmActions"][0] for a in alarms(brought).values()} == {arn}
    mailed = plan_once("dev", {"alarmEmails": ["oncall@example.com", "data@example.com"]})
    subscriptions = mailed.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.inputs["endpoint"] for s in subscriptions) == ["data@example.com", "oncall@example.com"]
    assert {s.inputs["protocol"] for s in subscriptions} == {"email"}


def test_the_dashboard_shows_this_stacks_resources_and_no_secret(prod: Plan) -> None:
    dashboard = prod.one("aws:cloudwatch/dashboard:Dashboard").inputs
    text = dashboard["dashboardBody"]
    body = json.loads(text)
    assert prod.outputs["cloudwatch_dashboard_url"].endswith(f"#dashboards/dashboard/{dashboard['dashboardName']}")
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(prod.of_type(ALARM))
    out = prod.outputs
    shown = [
        out["cluster_name"],
        out["efs_file_system_id"],
        out["nlb_arn"].split(":loadbalancer/")[1],
        out["cloudwatch_metrics_namespace"],
        prod.one("aws:rds/instance:Instance").inputs["identifier"],
    ]
    assert all(value in text for value in shown)
    titles = [w["properties"]["title"] for w in body["widgets"] if w["type"] == "metric"]
    assert len(titles) == 10 and all(w["width"] == 12 for w in body["widgets"] if w["type"] == "metric")
    for secret in SECRET_OUTPUTS:
        value = out[secret]
        assert not value or (json.dumps(value) not in text and str(value) not in text), secret
        assert all(str(value) not in a["alarmDescription"] for a in alarms(prod).values() if value)


def test_the_metrics_addon_keeps_container_insights_and_listens_for_statsd(prod: Plan) -> None:
    (addon,) = [a for a in prod.of_type("aws:eks/addon:Addon") if a.inputs["addonName"].startswith("amazon-cloudwatch")]
    config = json.loads(addon.inputs["configurationValues"])["agent"]["config"]
    assert config["logs"]["metrics_collected"]["kubernetes"]["enhanced_container_insights"] is True
    assert config["metrics"]["namespace"] == prod.outputs["cloudwatch_metrics_namespace"]
    assert config["metrics"]["metrics_collected"]["statsd"]["service_address"] == ":8125"
    role = prod.one("aws:iam/role:Role", "airflow-prod-telemetry-cloudwatch-role")
    assert "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent" in role.inputs["assumeRolePolicy"]
    groups = prod.of_type("aws:cloudwatch/logGroup:LogGroup")
    ours = sorted(g.inputs["name"] for g in groups if "/containerinsights/" in g.inputs["name"])
    assert ours == [
        f"/aws/containerinsights/airflow-prod/{k}" for k in ("application", "dataplane", "host", "performance")
    ]
    assert {g.inputs["retentionInDays"] for g in groups if g.inputs["name"] in ours} == {30}
    assert {g.urn for g in groups if g.inputs["name"] in ours} <= set(addon.dependencies)
    assert {g.urn for g in prod.of_type("eks:index:ManagedNodeGroup")} <= set(addon.dependencies)
