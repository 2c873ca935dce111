"""Every resource type the program creates is declared in `sizing/aws-prices.json`: priced, free
with a reason and its source, or unpriced with what bills it (issue 23, item 1). A new type that is
none of these fails here before `make cost` stops on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lib.cluster.sizing import load_table
from offline.mocks import Plan
from reports.cost import MissingPrice, PriceTable, estimate, not_priced, undeclared_types
from scripts.cost import render
from tests.support.plans import cost_report, plan_once

ROOT = Path(__file__).resolve().parents[2]
PRICES = load_table("aws-prices.json")
TABLE = PriceTable(PRICES, "us-east-1")
SNAPSHOTS = sorted((ROOT / "tests" / "snapshots").glob("*.json"))
CACHE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
BACKUP = "aws:efs/backupPolicy:BackupPolicy"


def _as_plan(plan: Plan) -> dict[str, Any]:
    return json.loads(json.dumps(plan.as_json()))


def _snapshot_types(node: Any) -> set[str]:
    """The resource types a plan snapshot names (its resources, wherever the snapshot nests them)."""
    if isinstance(node, dict):
        own = {node["type"]} if isinstance(node.get("type"), str) and ":" in node["type"] else set()
        return own.union(*(_snapshot_types(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_snapshot_types(v) for v in node))
    return set()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_type_of_the_stack_plans_is_declared(stack: str, plans: dict[str, Plan]) -> None:
    plan = _as_plan(plans[stack])
    assert undeclared_types(plan, TABLE) == []
    assert len({r["type"] for r in plan["resources"]}) > 60


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_every_type_of_the_plan_snapshots_is_declared(snapshot: Path) -> None:
    types = _snapshot_types(json.loads(snapshot.read_text()))
    assert "eks:index:Cluster" in types
    assert sorted(types - set(TABLE.types)) == []


def test_the_image_cache_is_declared_and_priced() -> None:
    """Its repository creation templates were declared nowhere: `make cost` stopped on a plan with
    imagePullThroughCacheCredentialArn."""
    plan = plan_once("prod", {"imagePullThroughCacheCredentialArn": CACHE_ARN})
    doc = cost_report(plan, "prod")
    assert plan.counts()["aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"] == 4
    (cached,) = [line for line in doc["lines"] if line["resource_type"] == "ECR cached images (GB)"]
    assert cached["unit_price"] == 0.1


def test_an_undeclared_type_is_caught() -> None:
    plan = {
        "resources": [
            {"urn": "urn:q", "type": "aws:kinesis/stream:Stream", "name": "q", "inputs": {}, "dependencies": []},
            {"urn": "urn:r", "type": "aws:iam/role:Role", "name": "r", "inputs": {}, "dependencies": []},
            {"urn": "urn:b", "type": "aws:ssm/parameter:Parameter", "name": "b", "inputs": {}, "dependencies": []},
        ]
    }
    assert undeclared_types(plan, TABLE) == ["aws:kinesis/stream:Stream", "aws:ssm/parameter:Parameter"]
    with pytest.raises(MissingPrice, match=r"resource type aws:kinesis/stream:Stream has no price"):
        estimate(plan, TABLE, {}, 8)


def test_each_declaration_is_priced_free_or_unpriced_with_its_source() -> None:
    kinds: dict[str, int] = {}
    for type_, entry in TABLE.types.items():
        (kind,) = {"priced", "free", "unpriced"} & set(entry)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "priced":
            # Every figure it names is in every region's table, and it says what they count.
            assert entry["priced"] and entry["what"], type_
            for region in PRICES["regions"].values():
                assert set(entry["priced"]) <= set(region), type_
            assert set(entry) <= {"priced", "what", "not_priced"}, type_
        else:
            assert entry[kind] and entry["source"], type_
            assert set(entry) == {kind, "source"}, type_
        gap = entry.get("not_priced")
        assert gap is None or (gap["what"] and gap["source"].startswith("https://aws.amazon.com/")), type_
    # Wholly unpriced: only a brought database's administrator secret (dbsec); the EFS backups are
    # priced since issue 23, item 1. With Karpenter's (NodePool priced, 8 free).
    assert kinds == {"priced": 18, "free": 85, "unpriced": 1}


def test_a_free_aws_resource_cites_an_aws_page() -> None:
    """A free claim about an AWS resource cites AWS; other types say why they are not AWS's."""
    for type_, entry in TABLE.types.items():
        if type_.startswith("aws:") and "free" in entry:
            assert "https://aws.amazon.com/" in entry["source"] or "https://docs.aws.amazon.com/" in entry["source"]
        elif "free" in entry and not type_.startswith("kubernetes:"):
            assert entry["source"].startswith("not an AWS resource"), type_


def test_make_cost_lists_what_it_does_not_price(dev: Plan, prod: Plan) -> None:
    doc = cost_report(prod, "prod")
    assert [gap["resource_type"] for gap in doc["not_priced"]] == [
        BACKUP,
        "aws:rds/instance:Instance",
        "aws:s3/bucket:Bucket",
    ]
    backup = TABLE.types[BACKUP]["not_priced"]
    assert doc["not_priced"][0]["what"] == f"{backup['what']}; source: {backup['source']}"
    assert f"\nnot priced: {BACKUP}: restores ($0.02 per GB restored)" in render(doc)
    # Only the plan's own types: dev has no logs bucket.
    assert [t for t, _ in not_priced(_as_plan(dev), TABLE)] == [BACKUP, "aws:rds/instance:Instance"]
