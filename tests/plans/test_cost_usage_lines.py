"""The usage-driven lines of the cost estimate (issue 23, item 1), on hand-worked plans: control-plane
logs per enabled log type, container logs per component and log level, NAT data with the images new
nodes pull, EFS throughput and backups, KMS keys' rotations and requests, the task logs bucket's
requests and burstable nodes' CPU credits. Then the table `make cost` prints."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lib.cluster.managed_addons import CLOUDWATCH_OBSERVABILITY
from lib.cluster.sizing import assumptions_for, load_table
from lib.cluster.versions import DEFAULT_VERSION
from offline.mocks import Plan
from reports.cost import PriceTable, estimate
from scripts.cost import render
from tests.plans.test_cost import _group, _resource
from tests.support.plans import cost_report

PRICES = load_table("aws-prices.json")
TABLE = PriceTable(PRICES, "us-east-1")
DAY = date(2026, 12, 6)
ZERO = {k: 0.0 for k in assumptions_for("prod", load_table("assumptions.json")).usage}
DAYS = 730 / 24


def _usage(**figures: float) -> dict[str, float]:
    return {**ZERO, **{k.replace("__", "."): v for k, v in figures.items()}}


def _plan(
    *extra: dict[str, Any], log_types: list[str] | None = None, groups: list[Any] | None = None
) -> dict[str, Any]:
    cluster = _resource(
        "eks:index:Cluster", "eks", {"version": DEFAULT_VERSION, "enabledClusterLogTypes": log_types or []}
    )
    return {
        "resources": [
            cluster,
            *(groups if groups is not None else _group("system", ["m6i.large"], (1, 1, 2), spot=False, tainted=False)),
            *_group("workers", ["m6i.large"], (0, 0, 4), spot=False, tainted=True),
            *extra,
        ]
    }


def _lines(plan: dict[str, Any], usage: dict[str, float], busy_hours: float = 8) -> dict[str, Any]:
    return {line.resource_type: line for line in estimate(plan, TABLE, usage, busy_hours, DAY).lines}


def test_control_plane_logs_are_priced_per_enabled_log_type() -> None:
    usage = _usage(
        control_plane_logs__audit__events_per_second=10,
        control_plane_logs__audit__event_kb=1,
        control_plane_logs__audit__events_per_task=20,
        control_plane_logs__api__gb_month=2,
        control_plane_logs__authenticator__gb_month=3,
        tasks_per_busy_hour=100,
    )
    lines = _lines(_plan(log_types=["api", "audit"]), usage)
    # 10 events/s of 1 KB for 730 h: 26.28 GB; busy adds 20 KB per task, 100 tasks an hour for 8 h a day.
    audit = lines["EKS control-plane logs: audit (GB)"]
    assert audit.count == pytest.approx(26.28)
    assert audit.monthly_idle == pytest.approx(26.28 * 0.5)
    assert audit.monthly_busy == pytest.approx((26.28 + 20e-6 * 100 * 8 * DAYS) * 0.5)
    assert audit.monthly_hibernated == 0  # asleep there is no control plane
    assert lines["EKS control-plane logs: api (GB)"].monthly_idle == pytest.approx(1.0)
    # authenticator is not enabled: no line, whatever its volume.
    assert [k for k in lines if k.startswith("EKS control-plane logs")] == [
        "EKS control-plane logs: api (GB)",
        "EKS control-plane logs: audit (GB)",
    ]


def test_stored_logs_follow_the_log_groups_retention() -> None:
    usage = _usage(control_plane_logs__api__gb_month=10, logs_stored_fraction=0.25)
    group = _resource("aws:cloudwatch/logGroup:LogGroup", "cp", {"name": "/aws/eks/x/cluster", "retentionInDays": 365})
    stored = _lines(_plan(group, log_types=["api"]), usage)["CloudWatch Logs stored (GB, compressed)"]
    # A year kept (12 months at most), a quarter of the size ingested.
    assert stored.count == pytest.approx(10 * 12 * 0.25)
    group["inputs"]["retentionInDays"] = 30
    stored = _lines(_plan(group, log_types=["api"]), usage)["CloudWatch Logs stored (GB, compressed)"]
    assert stored.count == pytest.approx(10 * 30 / DAYS * 0.25)


def _telemetry(level: str | None) -> list[dict[str, Any]]:
    values: dict[str, Any] = {
        "scheduler": {"replicas": 2},
        "apiServer": {"replicas": 3},
        "triggerer": {"replicas": 1},
        "dagProcessor": {"replicas": 1},
        "pgbouncer": {"enabled": False, "replicas": 5},
    }
    if level:
        values["config"] = {"logging": {"logging_level": level}}
    return [
        _resource("aws:eks/addon:Addon", "cw", {"addonName": CLOUDWATCH_OBSERVABILITY}),
        _resource("kubernetes:helm.sh/v3:Release", "airflow", {"chart": "airflow", "values": values}),
        _resource("kubernetes:helm.sh/v3:Release", "ca", {"chart": "cluster-autoscaler", "values": {}}),
    ]


def test_container_logs_are_priced_per_component_replica_and_log_level() -> None:
    usage = _usage(
        container_logs__scheduler__gb_month=1,
        container_logs__apiServer__gb_month=0.5,
        container_logs__triggerer__gb_month=0.2,
        container_logs__dagProcessor__gb_month=1,
        container_logs__pgbouncer__gb_month=9,
        container_logs__node__gb_month=0.4,
        container_logs__per_task_kb=25,
        container_logs__level_factor__INFO=1,
        container_logs__level_factor__DEBUG=10,
        tasks_per_busy_hour=100,
    )
    usage["container_logs.cluster-autoscaler.gb_month"] = 3
    info = _lines(_plan(*_telemetry(None)), usage)
    assert info["Container logs: scheduler x2 at INFO (GB)"].count == 2
    assert info["Container logs: apiServer x3 at INFO (GB)"].monthly_idle == pytest.approx(1.5 * 0.5)
    assert info["Container logs: cluster-autoscaler (GB)"].count == 3
    assert not [k for k in info if "pgbouncer" in k]  # not enabled: no pods, no logs
    nodes = info["Container logs: nodes' data plane and host (1 nodes idle) (GB)"]
    # Busy: the 4 workers for 8 h a day, a third of a month each.
    assert (nodes.count, nodes.monthly_busy) == (pytest.approx(0.4), pytest.approx((1 + 4 / 3) * 0.4 * 0.5))
    tasks = info["Container logs: task pods and their heartbeats (GB)"]
    assert (tasks.monthly_idle, tasks.monthly_busy) == (0, pytest.approx(25e-6 * 100 * 8 * DAYS * 0.5))
    assert all(line.monthly_hibernated == 0 for k, line in info.items() if k.startswith("Container logs"))
    debug = _lines(_plan(*_telemetry("DEBUG")), usage)
    assert debug["Container logs: scheduler x2 at DEBUG (GB)"].count == 20
    # Without the CloudWatch add-on nothing ships container logs.
    assert not [k for k in _lines(_plan(*_telemetry(None)[1:]), usage) if k.startswith("Container logs")]


def test_nat_data_counts_the_images_new_nodes_pull_unless_the_cache_serves_them() -> None:
    usage = _usage(nat_gb_month=10, node_image_gb=0.5, node_launches_idle_month=6)
    nat = _resource("aws:ec2/natGateway:NatGateway", "nat", {})
    lines = _lines(_plan(nat), usage)
    pulls = lines["NAT data: images new nodes pull (registries outside AWS) (GB)"]
    # Idle: 6 replaced nodes; busy: the workers go from 0 to 4 once a busy day.
    assert pulls.count == 3
    assert pulls.monthly_busy == pytest.approx((3 + 4 * DAYS * 0.5) * 0.045)
    assert pulls.monthly_hibernated == 0
    assert lines["NAT data: task and add-on traffic (GB)"].monthly_idle == pytest.approx(0.45)
    cache = _resource("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "hub", {})
    cached = _lines(_plan(nat, cache), usage)
    # ECR serves the layers from S3, through the gateway endpoint: no image crosses the NAT, no line.
    assert [k for k in cached if k.startswith("NAT data")] == ["NAT data: task and add-on traffic (GB)"]
    assert not [k for k in _lines(_plan(), usage) if k.startswith("NAT data")]  # no NAT gateway, no NAT data


def test_efs_reads_writes_and_backups() -> None:
    usage = _usage(efs_read_gb_month=30, efs_written_gb_month=60, efs_stored_gb=10, efs_backup_retention_days=35)
    fs = _resource("aws:efs/fileSystem:FileSystem", "fs", {})
    backup = _resource("aws:efs/backupPolicy:BackupPolicy", "b", {"backupPolicy": {"status": "DISABLED"}})
    lines = _lines(_plan(fs, backup), usage)
    assert lines["EFS Elastic throughput: reads (GB)"].monthly_idle == pytest.approx(0.9)
    assert lines["EFS Elastic throughput: writes (GB)"].monthly_idle == pytest.approx(3.6)
    assert not [k for k in lines if k.startswith("EFS backups")]
    backup["inputs"]["backupPolicy"]["status"] = "ENABLED"
    (line,) = [v for k, v in _lines(_plan(fs, backup), usage).items() if k.startswith("EFS backups")]
    # The files stored and 35 days of what was written: 10 + 60 x 35 / 30.42 GB at $0.05, kept asleep too.
    assert line.count == pytest.approx(10 + 60 * 35 / DAYS)
    assert line.monthly_hibernated == line.monthly_idle == pytest.approx(line.count * 0.05)


def test_kms_keys_their_rotations_and_requests_past_the_free_tier() -> None:
    usage = _usage(kms_rotations_billed=2, kms_requests_month=50_000)
    keys = [
        _resource("aws:kms/key:Key", "a", {"enableKeyRotation": True}),
        _resource("aws:kms/key:Key", "b", {"enableKeyRotation": True}),
        _resource("aws:kms/key:Key", "c", {"enableKeyRotation": False}),
    ]
    lines = _lines(_plan(*keys), usage)
    assert lines["KMS customer-managed keys"].monthly_idle == 3
    assert lines["KMS key rotations (2 keys rotated yearly, from their third year)"].monthly_idle == 4
    requests = lines["KMS requests past the free tier (10,000)"]
    assert (requests.count, requests.monthly_idle) == (3, pytest.approx(0.09))  # 50,000 - 20,000 free
    # Under the free tier: nothing billed, no line.
    assert "KMS requests past the free tier (10,000)" not in _lines(_plan(*keys), _usage(kms_requests_month=15_000))


def test_asleep_every_key_stays_but_the_nodes_volume_key() -> None:
    node_key = {**_resource("aws:kms/key:Key", "n", {"enableKeyRotation": True})}
    node_key["urn"] = "urn:pulumi:dev::airflow-eks::airflow:index:NodeGroups$aws:kms/key:Key::n"
    db_key = {**_resource("aws:kms/key:Key", "d", {"enableKeyRotation": True})}
    db_key["urn"] = "urn:pulumi:dev::airflow-eks::airflow:index:Database$aws:kms/key:Key::d"
    lines = _lines(_plan(node_key, db_key), _usage(kms_rotations_billed=2))
    keys = lines["KMS customer-managed keys"]
    assert (keys.monthly_idle, keys.monthly_hibernated) == (2, 1)
    rotations = lines["KMS key rotations (2 keys rotated yearly, from their third year)"]
    assert (rotations.monthly_idle, rotations.monthly_hibernated) == (4, 2)


def test_the_task_logs_bucket_bills_each_tasks_requests_when_tasks_run() -> None:
    usage = _usage(tasks_per_busy_hour=1000, task_logs__puts_per_task=1, task_logs__gets_per_task=2)
    lines = _lines(_plan(_resource("aws:s3/bucket:Bucket", "logs", {})), usage, busy_hours=10)
    tasks = 1000 * 10 * DAYS
    put, get = lines["S3 task logs: PUT requests"], lines["S3 task logs: GET requests"]
    assert (put.monthly_idle, put.monthly_busy) == (0, pytest.approx(tasks / 1000 * 0.005))
    assert get.monthly_busy == pytest.approx(2 * tasks / 1000 * 0.0004)


def test_burstable_nodes_pay_their_surplus_cpu_credits() -> None:
    usage = _usage(cpu_utilization__airflow=0.45, cpu_utilization__system=0.1)
    groups = [
        *_group("airflow", ["t3.large", "t3a.large"], (2, 2, 3), spot=True, tainted=False),
        *_group("system", ["t4g.medium"], (1, 1, 2), spot=False, tainted=False),
    ]
    lines = _lines(_plan(groups=groups), usage)
    # Unlimited mode whatever the capacity type: 15 points over the 30% baseline of 2 vCPUs at $0.05.
    airflow = lines["EC2 CPU credits: airflow (t3.large, unlimited, 45% CPU, baseline 30%)"]
    assert airflow.count == 2
    assert airflow.monthly_idle == pytest.approx(2 * 0.15 * 2 * 0.05 * 730)
    assert airflow.monthly_hibernated == 0
    # Under the baseline: nothing billed.
    assert lines["EC2 CPU credits: system (t4g.medium, unlimited, 10% CPU, baseline 20%)"].monthly_idle == 0
    assert not [k for k in lines if k.startswith("EC2 CPU credits: workers")]  # m6i is not burstable


def test_the_price_table_names_its_region_and_date() -> None:
    dates = [f["date"] for f in _figures(PRICES["regions"])]
    assert PRICES["as_of"] == max(dates) == "2026-12"
    assert list(PRICES["regions"]) == ["us-east-1"]


def _figures(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict) and "usd" in node:
        return [node]
    return [f for v in (node.values() if isinstance(node, dict) else []) for f in _figures(v)]


def test_make_cost_prints_idle_busy_and_asleep_with_each_lines_source(dev: Plan) -> None:
    doc = cost_report(dev, "dev")
    text = render(doc)
    head = text.splitlines()[:2]
    assert head[0].startswith("Estimated monthly cost of stack dev: us-east-1 list prices in USD")
    assert "figures dated to 2026-12" in head[0]
    assert head[1].split() == [
        "resource",
        "count",
        "unit",
        "$",
        "idle",
        "$/mo",
        "busy",
        "$/mo",
        "asleep",
        "$/mo",
        "src",
    ]
    sources = sorted({line["source"] for line in doc["lines"]})
    listed = [row.split("] ", 1)[1] for row in text.splitlines() if row.startswith(" [")]
    assert sorted(listed) == sources
    total = next(row for row in text.splitlines() if row.startswith("total"))
    assert total.split()[1:] == [
        f"{doc['idle_monthly']:.2f}",
        f"{doc['busy_monthly']:.2f}",
        f"{doc['hibernated_monthly']:.2f}",
    ]
    assert f"Capacity chain (task pods at once, the least of these): {doc['max_concurrent_tasks']}" in text
    assert json.loads(json.dumps(doc))["prices_as_of"] == "2026-12"


README_DAY = date(2026, 12, 7)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_readme_cost_table_is_what_make_cost_says(stack: str, plans: dict[str, Plan]) -> None:
    """The README's figures come from `make cost` on the day it names; a change to the plan, a price
    or an assumption that moves them fails here until the README says the new figure."""
    from scripts.cost import report

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "Priced on 2026-12-07" in readme
    (row,) = [r for r in readme.splitlines() if r.startswith(f"| {stack} | ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    doc = report(stack, json.loads(json.dumps(plans[stack].as_json())), "us-east-1", 8, README_DAY)
    figures = [doc["idle_monthly"], doc["busy_monthly"], doc["hibernated_monthly"]]
    assert cells[1:4] == [f"{round(f):,}" for f in figures]
    assert cells[4] == str(doc["max_concurrent_tasks"])
