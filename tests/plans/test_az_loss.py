"""The availability-zone-loss analysis (`reports/az_loss.py`): prod loses no tier, dev shows what it loses."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from offline.mocks import Plan
from reports.az_loss import DEGRADED, DOWN, UP, Tier, render, tiers_down
from reports.guardrails import analyse
from tests.support.policy import drop, find

ROOT = Path(__file__).resolve().parents[2]
ZONES = ["use1-az1", "use1-az2", "use1-az4"]
TIERS = [
    "NAT egress",
    "node group airflow",
    "node group system",
    "node group workers",
    "database",
    "file system",
    "load balancer",
    "scheduler pods",
    "apiServer pods",
    "triggerer pods",
    "dagProcessor pods",
    "pgbouncer pods",
]


def states(result: dict[str, list[Tier]], tier: str) -> list[str]:
    return [next(t.state for t in result[zone] if t.name == tier) for zone in ZONES]


def test_prod_loses_no_tier_in_any_zone(prod: Plan) -> None:
    result = analyse(prod.as_json())
    assert list(result) == ZONES
    assert all([t.name for t in tiers] == TIERS for tiers in result.values())
    assert tiers_down(result) == []
    assert states(result, "NAT egress") == [UP, UP, UP]
    assert states(result, "database") == [DEGRADED] * 3  # a Multi-AZ failover
    assert states(result, "scheduler pods") == [DEGRADED] * 3
    assert next(t for t in result["use1-az1"] if t.name == "scheduler pods").detail == "1 of 2 left"


def test_dev_shows_what_one_zone_takes_down(dev: Plan) -> None:
    result = analyse(dev.as_json())
    assert states(result, "NAT egress") == [DOWN, UP, UP]  # the single NAT gateway is in the first zone
    assert states(result, "database") == [DOWN] * 3
    assert states(result, "scheduler pods") == [DOWN] * 3
    assert states(result, "file system") == [UP] * 3


def test_a_control_plane_group_too_small_for_its_pods_is_down(prod: Plan) -> None:
    plan = copy.deepcopy(prod.as_json())
    scaling = find(plan, "ManagedNodeGroup", "airflow-prod-airflow")["inputs"]["scalingConfig"]
    scaling.update(minSize=1, desiredSize=1)
    assert states(analyse(plan), "node group airflow") == [DOWN] * 3


def test_a_zone_without_a_mount_target_loses_the_file_system(prod: Plan) -> None:
    plan = copy.deepcopy(prod.as_json())
    drop(plan, "MountTarget", "airflow-prod-efs-mt-c")
    assert states(analyse(plan), "file system") == [DOWN, DOWN, UP]


@pytest.mark.parametrize("lost", ZONES)
def test_nat_per_zone_routes_stay_in_their_zone(prod: Plan, lost: str) -> None:
    nat = next(t for t in analyse(prod.as_json())[lost] if t.name == "NAT egress")
    assert nat == Tier("NAT egress", UP, "every other zone routes through its own NAT gateway")


def test_the_security_docs_show_prods_table(prod: Plan) -> None:
    section = (ROOT / "docs" / "security.md").read_text().split("\n### Losing an availability zone\n", 1)[1]
    assert render(analyse(prod.as_json())) in section.split("\n## ", 1)[0]
