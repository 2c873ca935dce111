"""The plan's admission policy on task pods' accounts admits the pods the stack itself makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline.admission import admitted
from offline.mocks import Plan
from tests.support.plans import plan_once
from tests.support.renders import Rendered

ROOT = Path(__file__).resolve().parent.parent.parent
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
SCHEDULER = "system:serviceaccount:airflow:airflow-scheduler"


@pytest.fixture(scope="module")
def teams() -> Plan:
    return plan_once("teams", config_dir=ROOT / "examples" / "stacks")


def admits(plan: Plan, account: str, username: str = SCHEDULER, pod: dict[str, Any] | None = None) -> bool:
    """The plan's policy's decision on a pod (`pod`'s spec, else none but its account) running as
    `account`, created by `username`."""
    (policy,) = plan.of_type(POLICY)
    spec = {**(pod or {}).get("spec", {"containers": []}), "serviceAccountName": account}
    return admitted(policy.inputs["spec"], {"spec": spec}, username)


def test_the_executors_pods_are_admitted_and_a_control_plane_account_is_not(dev: Plan) -> None:
    template = Rendered(dev).pod_template()
    assert admits(dev, template["spec"]["serviceAccountName"])
    for account in ("airflow-scheduler", "airflow-api-server", "airflow-team-analytics"):
        assert not admits(dev, account), account


def test_each_team_account_is_admitted(teams: Plan) -> None:
    accounts = [r.inputs["metadata"]["name"] for r in teams.of_type("kubernetes:core/v1:ServiceAccount")]
    team_accounts = [a for a in accounts if a.startswith("airflow-team-")]
    assert team_accounts == ["airflow-team-analytics", "airflow-team-ml"]
    for account in team_accounts:
        assert admits(teams, account)
    assert not admits(teams, "airflow-scheduler")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_binding_selects_the_airflow_namespace_only(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    (policy,), (binding,) = plan.of_type(POLICY), plan.of_type(BINDING)
    namespace = plan.one("kubernetes:core/v1:Namespace", f"airflow-{stack}-namespace").inputs["metadata"]["name"]
    selector = binding.inputs["spec"]["matchResources"]["namespaceSelector"]
    assert selector == {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    assert binding.inputs["spec"]["policyName"] == policy.inputs["metadata"]["name"]
    assert policy.urn in binding.dependencies


def test_in_production_the_executors_pods_images_are_admitted_and_others_are_not(prod: Plan) -> None:
    template = Rendered(prod).pod_template()
    account = template["spec"]["serviceAccountName"]
    assert admits(prod, account, pod=template)
    for image in ("apache/airflow:3.3.2", "python:3.12"):  # Docker Hub's, not the stack's cache
        other = {"spec": {"containers": [{**template["spec"]["containers"][0], "image": image}]}}
        assert not admits(prod, account, pod=other), image
    team = "123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow:3.3.2-1"
    with_team_images = plan_once("prod", {"taskImageRepositories": [team.rsplit(":", 1)[0]]})
    assert admits(with_team_images, account, pod={"spec": {"containers": [{"image": team}]}})
    assert not admits(prod, account, pod={"spec": {"containers": [{"image": team}]}})


def test_outside_production_any_image_runs(dev: Plan) -> None:
    assert admits(dev, "airflow-worker", pod={"spec": {"containers": [{"image": "python:3.12"}]}})
