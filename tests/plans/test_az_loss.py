"""The availability-zone-loss analysis (`reports/az_loss.py`): prod loses no tier, dev shows what it
loses, and the analysis counts what it must (issue 24 item 6): every container's requests from the
render, the nodes left before any replacement, zone spread as certain only when `DoNotSchedule`,
and every system add-on."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline.mocks import Plan
from reports.az_loss import DEGRADED, DOWN, UP, Tier, pod_requests, render, rendered_workloads, tiers_down
from reports.guardrails import analyse
from tests.support.policy import drop, find
from tests.support.renders import render_plan

ROOT = Path(__file__).resolve().parents[2]
ZONES = ["use1-az1", "use1-az2", "use1-az4"]
SERVING = [
    "apiServer pods",
    "dagProcessor pods",
    "pgbouncer pods",
    "scheduler pods",
    "triggerer pods",
    "Cluster Autoscaler pods",
    "Load Balancer Controller pods",
    "CoreDNS pods",
]
TIERS = [
    "NAT egress",
    "node group airflow",
    "node group system",
    "node group workers",
    "unpinned system pods",
    "database",
    "file system",
    "load balancer",
    *SERVING,
    "EFS CSI controller pods",
    "CloudWatch operator pods",
]


def states(result: dict[str, list[Tier]], tier: str) -> list[str]:
    return [next(t.state for t in result[zone] if t.name == tier) for zone in ZONES]


def detail(result: dict[str, list[Tier]], tier: str, zone: str = "use1-az1") -> str:
    return next(t.detail for t in result[zone] if t.name == tier)


@pytest.fixture(scope="module")
def prod_json(prod: Plan) -> dict[str, Any]:
    return json.loads(json.dumps(prod.as_json()))


@pytest.fixture(scope="module")
def prod_objects(prod_json: dict[str, Any]) -> list[dict[str, Any]]:
    return render_plan(prod_json)


def test_prod_loses_no_tier_in_any_zone(prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]) -> None:
    result = analyse(prod_json, prod_objects)
    assert list(result) == ZONES
    assert all([t.name for t in tiers] == TIERS for tiers in result.values())
    assert tiers_down(result) == []
    assert states(result, "NAT egress") == [UP, UP, UP]
    assert states(result, "database") == [DEGRADED] * 3  # a Multi-AZ failover
    for tier in SERVING:
        assert states(result, tier) == [DEGRADED] * 3, tier
        assert detail(result, tier) == "1 of 2 left (zone spread DoNotSchedule)", tier
    # Two t4g.xlarge left of three (4000m - 80m kube-reserved - 425m DaemonSets each) hold the
    # control plane's 3770m: its containers, sidecars and init containers, as rendered.
    assert detail(result, "node group airflow") == (
        "1 of 3 nodes lost, 2 left until replacements launch in use1-az2, use1-az4; "
        "they hold 6990m/28018Mi for 3770m/13824Mi requested"
    )


def test_requests_count_sidecars_and_init_containers(prod_objects: list[dict[str, Any]]) -> None:
    """The scheduler pod requests its container's 500m and the log groomer sidecar's 10m; an init
    container counts when it asks for more than the pod's containers together."""
    workloads = {w.tier: w for w in rendered_workloads(prod_objects)}
    assert (workloads["scheduler pods"].cpu_m, workloads["scheduler pods"].memory_mi) == (510, 2048 + 64)
    assert (workloads["pgbouncer pods"].cpu_m, workloads["pgbouncer pods"].memory_mi) == (125, 192)
    assert sum(w.replicas * w.cpu_m for w in workloads.values()) == 3770
    spec = {
        "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
        "initContainers": [
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}}},
            {"resources": {"requests": {"cpu": "1", "memory": "16Mi"}}},
        ],
    }
    # containers and the sidecar: 150m/96Mi; the init container beside the sidecar: 1050m/48Mi.
    assert pod_requests(spec) == (1050, 96)


def test_the_airflow_chart_runs_no_daemonset(prod_objects: list[dict[str, Any]]) -> None:
    """Every node's DaemonSets are the add-ons' alone (lib/cluster/daemonsets.py)."""
    with_pods = {o["kind"] for o in prod_objects if "template" in o.get("spec", {})}
    assert "Deployment" in with_pods and "DaemonSet" not in with_pods


def test_the_nodes_left_before_replacement_must_hold_the_pods(
    prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]
) -> None:
    """Two airflow nodes in three zones: the one left (3495m) cannot hold 3770m until a
    replacement launches, though two would."""
    plan = copy.deepcopy(prod_json)
    scaling = find(plan, "ManagedNodeGroup", "airflow-prod-airflow")["inputs"]["scalingConfig"]
    scaling.update(minSize=2, desiredSize=2)
    result = analyse(plan, prod_objects)
    assert states(result, "node group airflow") == [DOWN] * 3
    assert "1 left until replacements launch" in detail(result, "node group airflow")


def test_a_soft_zone_spread_is_no_spread(prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]) -> None:
    """`ScheduleAnyway` lets the scheduler put both schedulers in one zone: losing it stops them."""
    objects = copy.deepcopy(prod_objects)
    scheduler = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-scheduler")
    for constraint in scheduler["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        constraint["whenUnsatisfiable"] = "ScheduleAnyway"
    result = analyse(prod_json, objects)
    assert states(result, "scheduler pods") == [DOWN] * 3
    assert detail(result, "scheduler pods") == (
        "0 of 2 left (no hard zone spread: all may share the zone), until rescheduled"
    )


def test_every_system_addon_is_analysed_with_its_own_spread(
    prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]
) -> None:
    plan = copy.deepcopy(prod_json)
    for chart in ("aws-load-balancer-controller", "cluster-autoscaler"):
        release = next(r for r in plan["resources"] if r["type"].endswith("Release") and r["inputs"]["chart"] == chart)
        del release["inputs"]["values"]["topologySpreadConstraints"]
    coredns = find(plan, "eks/addon:Addon", "airflow-prod-coredns")
    del coredns["inputs"]["configurationValues"]
    result = analyse(plan, prod_objects)
    for tier in ("Load Balancer Controller pods", "Cluster Autoscaler pods", "CoreDNS pods"):
        assert states(result, tier) == [DOWN] * 3, tier
    # Controllers whose loss stops nothing served: degraded, even with every replica gone.
    assert states(result, "EFS CSI controller pods") == [DEGRADED] * 3
    assert detail(result, "unpinned system pods").startswith("CoreDNS, EFS CSI controller, CloudWatch operator: ")


def test_dev_shows_what_one_zone_takes_down(dev: Plan) -> None:
    plan = json.loads(json.dumps(dev.as_json()))
    result = analyse(plan, render_plan(plan))
    assert states(result, "NAT egress") == [DOWN, UP, UP]  # the NAT instance is in the first zone
    assert detail(result, "NAT egress") == "nodes in use1-az2, use1-az4 route through the NAT instance in use1-az1"
    assert detail(result, "NAT egress", "use1-az2") == "the other zones route through the NAT instance in use1-az1"
    assert states(result, "database") == [DOWN] * 3
    assert states(result, "scheduler pods") == [DOWN] * 3
    assert states(result, "file system") == [UP] * 3


def test_a_zone_without_a_mount_target_loses_the_file_system(
    prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]
) -> None:
    plan = copy.deepcopy(prod_json)
    drop(plan, "MountTarget", "airflow-prod-efs-mt-c")
    assert states(analyse(plan, prod_objects), "file system") == [DOWN, DOWN, UP]


@pytest.mark.parametrize("lost", ZONES)
def test_nat_per_zone_routes_stay_in_their_zone(
    prod_json: dict[str, Any], prod_objects: list[dict[str, Any]], lost: str
) -> None:
    nat = next(t for t in analyse(prod_json, prod_objects)[lost] if t.name == "NAT egress")
    assert nat == Tier("NAT egress", UP, "every other zone routes through its own NAT gateway")


def test_the_security_docs_show_prods_table(prod_json: dict[str, Any], prod_objects: list[dict[str, Any]]) -> None:
    section = (ROOT / "docs" / "security.md").read_text().split("\n### Losing an availability zone\n", 1)[1]
    assert render(analyse(prod_json, prod_objects)) in section.split("\n## ", 1)[0]
