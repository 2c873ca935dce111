"""The policy pack (`policy/`): both stacks pass it, and each policy fails a plan mutated to break it.

The mutations are edits someone could make next year (a stack file, a values override, a
component): each must be reported by the right policy, on the resource that breaks it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from offline.mocks import Plan
from policy.airflow_eks_guardrails.declaration import (
    ENCRYPTION,
    IMDSV2,
    NO_PUBLIC_EXPOSURE,
    POLICY_NAMES,
    PRODUCTION_HA,
    PRODUCTION_TAG,
    PRODUCTION_TLS,
)
from policy.airflow_eks_guardrails.model import Resource, Stack
from policy.airflow_eks_guardrails.rules import POLICIES
from reports import guardrails as cli
from tests.support.plans import plan_once
from tests.support.policy import (
    MUTATIONS,
    PlanData,
    found,
)
from tests.support.renders import render_plan
from tests.support.settings import settings_of

KEY_MISSING = "no customer-managed KMS key is set (AWS's own key cannot be rotated or restricted by you)"


@pytest.fixture(scope="module")
def prod_data(prod: Plan) -> PlanData:
    return prod.as_json()


def test_the_pack_has_every_policy_once() -> None:
    assert [p.name for p in POLICIES] == list(POLICY_NAMES)
    assert all(p.description for p in POLICIES)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_committed_stacks_pass_every_policy(
    plans: dict[str, Plan], stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"plan-{stack}.json"
    path.write_text(json.dumps(plans[stack].as_json()))
    assert cli.main(render_plan, [str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 mandatory violation(s), 0 waived" in out
    assert ("(production)" in out) == (stack == "prod")


def _ebs(r: dict[str, Any]) -> dict[str, Any]:
    return dict(r["inputs"]["blockDeviceMappings"][0]["ebs"])


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_policy_fails_a_plan_that_breaks_it(prod_data: PlanData, case: str) -> None:
    policy, mutate = MUTATIONS[case]
    plan = copy.deepcopy(prod_data)
    broken = mutate(plan)
    assert (policy, broken["urn"]) in found(plan)


def test_every_policy_has_a_mutation() -> None:
    assert {policy for policy, _ in MUTATIONS.values()} == set(POLICY_NAMES)


def test_the_cli_fails_a_broken_plan_and_names_the_resource(
    prod_data: PlanData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = copy.deepcopy(prod_data)
    broken = MUTATIONS["hop-limit-2"][1](plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert cli.main(render_plan, [str(path)]) == 1
    out = capsys.readouterr().out
    assert f"MANDATORY {IMDSV2}: {broken['urn']}\n    set metadataOptions.httpPutResponseHopLimit: 1" in out
    assert "1 mandatory violation(s)" in out


def test_a_stack_that_is_not_production_skips_the_production_policies(prod_data: PlanData) -> None:
    plan = copy.deepcopy(prod_data)
    MUTATIONS["single-az-db"][1](plan)
    MUTATIONS["db-unprotected"][1](plan)
    for resource in plan["resources"]:
        if PRODUCTION_TAG in (resource["inputs"].get("tags") or {}):
            resource["inputs"]["tags"][PRODUCTION_TAG] = "false"
    assert found(plan) == set()


def test_a_waived_policy_is_reported_as_advisory_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "standby replaced by hourly snapshots: ticket OPS-42"
    plan = plan_once("prod", {"policyWaivers": {PRODUCTION_HA: reason}}).as_json()
    broken = MUTATIONS["single-az-db"][1](plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert cli.main(render_plan, [str(path)]) == 0
    out = capsys.readouterr().out
    assert f"advisory  {PRODUCTION_HA} (waived: {reason}): {broken['urn']}" in out
    assert "0 mandatory violation(s), 1 waived" in out


@pytest.mark.parametrize(
    ("waivers", "message"),
    [
        (
            {"no-encryption": "a reason long enough"},
            "'no-encryption' is not a policy of the pack; policies: " + ", ".join(POLICY_NAMES),
        ),
        ({PRODUCTION_HA: "because"}, "must be 10 to 256 characters"),
        ({PRODUCTION_HA: "reason, with a comma"}, "must be 10 to 256 characters"),
    ],
)
def test_a_waiver_names_a_policy_and_gives_a_reason(waivers: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="policyWaivers") as err:
        settings_of("prod", policyWaivers=waivers)
    assert message in str(err.value)


def test_the_program_owns_its_guardrail_tags() -> None:
    with pytest.raises(ConfigError, match="keys starting with 'airflow-eks:' are the program's own"):
        settings_of("prod", tags={PRODUCTION_TAG: "false"})


def test_the_policies_read_pulumi_eks_children_as_the_engine_shows_them() -> None:
    """`pulumi preview` shows the `aws:eks/cluster:Cluster` pulumi-eks creates (encryptionConfig with
    `resources: ["secrets"]`, vpcConfig: nodejs/eks/cluster/cluster.ts), not only its component."""
    urn = "urn:pulumi:prod::airflow-eks::eks:index:Cluster$aws:eks/cluster:Cluster::airflow-prod-eksCluster"
    open_cluster = Resource(
        urn, "aws:eks/cluster:Cluster", "airflow-prod-eksCluster", {"vpcConfig": {"endpointPublicAccess": True}}
    )
    group_urn = "urn:pulumi:prod::airflow-eks::eks:index:ManagedNodeGroup$aws:eks/nodeGroup:NodeGroup::workers"
    group = Resource(group_urn, "aws:eks/nodeGroup:NodeGroup", "workers", {"subnetIds": ["[unknown]"]})
    found_ = {(v.policy, v.urn, v.message) for p in POLICIES for v in p.check(Stack((open_cluster, group)))}
    assert found_ == {
        (ENCRYPTION, urn, "encryptionConfig must cover the `secrets` resources"),
        (ENCRYPTION, urn, "encryptionConfig.provider.keyArn: " + KEY_MISSING),
        (NO_PUBLIC_EXPOSURE, urn, "the public EKS endpoint admits 0.0.0.0/0: list only the CIDRs that need it"),
        (IMDSV2, group_urn, "give the node group a launch template (EKS's default allows a hop limit of 2)"),
    }


def test_prod_listens_with_tls_and_without_a_certificate_it_fails_unless_waived(
    prod_data: PlanData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = next(r for r in prod_data["resources"] if r["type"] == "aws:lb/listener:Listener")
    assert (listener["inputs"]["protocol"], listener["inputs"]["port"]) == ("TLS", 443)
    assert (PRODUCTION_TLS, listener["urn"]) not in found(prod_data)
    # The prod stack without nlbCertificateArn: the program's plain listener, refused.
    plain = plan_once("prod", {"nlbCertificateArn": ""}).as_json()
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(plain))
    assert cli.main(render_plan, [str(path)]) == 1
    out = capsys.readouterr().out
    assert f"MANDATORY {PRODUCTION_TLS}: {listener['urn']}\n    the listener on port 80 is plain TCP" in out
    assert "1 mandatory violation(s), 0 waived" in out
    # Waived by name, with a reason: advisory.
    reason = "TLS ends at the corporate proxy in front: SEC-7"
    waived = plan_once("prod", {"nlbCertificateArn": "", "policyWaivers": {PRODUCTION_TLS: reason}}).as_json()
    path.write_text(json.dumps(waived))
    assert cli.main(render_plan, [str(path)]) == 0
    out = capsys.readouterr().out
    assert f"advisory  {PRODUCTION_TLS} (waived: {reason}): {listener['urn']}" in out
    assert "0 mandatory violation(s), 1 waived" in out
