"""The program registers what its snapshots say: the same resources, with the same inputs.

`tests/snapshots/` holds the plans of the committed stacks and of two configurations that take
every optional branch (scripts/snapshot_plans.py writes them). A resource that moved (another
parent, another component) counts as the same when it carries an alias to its URN in the
snapshot: `pulumi up` on an existing stack then updates it in place instead of replacing it.
A resource of the snapshot that is gone, or a new one, fails the test, whatever its kind: so no
database, file system, key, node group or cluster can change its URN unnoticed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.mocks import Plan, run_program
from scripts.snapshot_plans import SNAPSHOT_DIR, VARIANTS, snapshot

MOVED_BY_THE_RESHAPE = (
    "airflow:index:Cluster$aws:ec2/securityGroup:SecurityGroup::airflow-{stack}-nodes-sg",
    "airflow:index:SharedStorage$kubernetes:core/v1:Namespace::airflow-{stack}-namespace",
    "airflow:index:SharedStorage$kubernetes:core/v1:PersistentVolumeClaim::airflow-{stack}-dags-pvc",
    "airflow:index:SharedStorage$kubernetes:core/v1:PersistentVolumeClaim::airflow-{stack}-logs-pvc",
    "airflow:index:SharedStorage$aws:eks/addon:Addon::airflow-{stack}-efs-csi",
)
"""URNs (after `urn:pulumi:<stack>::airflow-eks::`) of the resources the reshape moved, as stacks
deployed before it hold them (UPGRADING.md): the snapshots were taken again after it. (The EFS CSI
driver's role and its attachment moved too, and are gone since issue 24: the driver has no role.)"""


def old_urns(plan: Plan, before: set[str]) -> dict[str, str]:
    """Each resource's URN in the snapshot: its own, or the one an alias of it names."""
    found: dict[str, str] = {}
    for reg in plan.resources:
        if reg.urn in before:
            found[reg.urn] = reg.urn
            continue
        matches = [alias for alias in reg.aliases if alias in before]
        assert len(matches) == 1, f"{reg.urn} is not in the snapshot and has no alias to one of its URNs"
        found[reg.urn] = matches[0]
    return found


def translate(value: Any, urns: dict[str, str]) -> Any:
    """`value` with every current URN replaced by the snapshot's."""
    if isinstance(value, dict):
        return {k: translate(v, urns) for k, v in value.items()}
    if isinstance(value, list):
        return [translate(v, urns) for v in value]
    if isinstance(value, str):
        return urns.get(value, value)
    return value


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_plan_is_its_snapshot_but_for_aliases(variant: str, request: pytest.FixtureRequest) -> None:
    stack, overrides = VARIANTS[variant]
    plan: Plan = request.getfixturevalue(stack) if not overrides else run_program(stack, overrides)
    expected = json.loads((SNAPSHOT_DIR / f"{variant}.json").read_text())
    before = {r["urn"] for r in expected["resources"]}
    urns = old_urns(plan, before)
    current = translate(snapshot(plan), urns)
    current["resources"] = sorted((r for r in current["resources"] if r["urn"] in before), key=lambda r: r["urn"])
    for resource in current["resources"]:
        resource["dependencies"].sort()
    by_urn = {r["urn"]: r for r in current["resources"]}
    assert sorted(by_urn) == sorted(before), "resources were added or removed"
    moved = {old for new, old in urns.items() if new != old}
    for old in expected["resources"]:
        now = by_urn[old["urn"]]
        if old["urn"] in moved:  # another parent: what the alias stands for
            now, old = {**now, "parent": None}, {**old, "parent": None}
        assert now == old, old["urn"]
    assert current["outputs"] == expected["outputs"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_what_the_reshape_moved_keeps_its_former_urn_as_an_alias(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    for entry in MOVED_BY_THE_RESHAPE:
        former = f"urn:pulumi:{stack}::airflow-eks::{entry.format(stack=stack)}"
        (moved,) = [r for r in plan.resources if former in r.aliases]
        assert former.endswith(f"${moved.type}::{moved.name}") and moved.urn != former


def test_a_moved_resource_without_an_alias_is_caught(dev: Plan) -> None:
    expected = json.loads((SNAPSHOT_DIR / "dev.json").read_text())
    before = {r["urn"] for r in expected["resources"]} - {dev.one("aws:rds/instance:Instance").urn}
    with pytest.raises(AssertionError, match="no alias"):
        old_urns(dev, before)
