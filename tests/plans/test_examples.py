"""The examples run offline: a consuming team's project reading the prod plan's outputs through
the typed reader, the consumer snippets of `contract/README.md`, and the example stack configurations."""

from __future__ import annotations

import functools
import json
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import pytest
import yaml

from offline.mocks import SECRET, Plan, run_mocked
from tests.support.plans import plan_once

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEAM_DAGS = EXAMPLES / "team-dags"
CONSUMER_DOCS = ROOT / "contract" / "README.md"
STACK = "acme/airflow-eks/prod"


def consumer(run: Callable[[], object]) -> Callable[[], dict[str, Any]]:
    """A consumer's program as `run_mocked` runs it: what it passes to `pulumi.export` is its outputs."""

    def main() -> dict[str, Any]:
        exported: dict[str, Any] = {}
        with mock.patch.object(pulumi, "export", exported.__setitem__):
            run()
        return exported

    return main


@pytest.fixture(scope="module")
def team(prod: Plan) -> Plan:
    project = yaml.safe_load((TEAM_DAGS / "Pulumi.yaml").read_text())["name"]
    return run_mocked(
        consumer(lambda: runpy.run_path(str(TEAM_DAGS / "__main__.py"), run_name="__main__")),
        "analytics",
        "eu-west-1",
        config={"platformStack": STACK, "team": "analytics"},
        project=project,
        stacks={STACK: prod.published()},
    )


def test_team_dags_creates_a_private_encrypted_tls_only_bucket(team: Plan) -> None:
    bucket = team.one("aws:s3/bucket:Bucket", "analytics-data")
    block = team.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    sse = team.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = json.loads(team.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert team.outputs["data_bucket_name"].startswith("analytics-data-")
    assert bucket.inputs["tags"] == {"team": "analytics", "managed-by": "pulumi"}


def test_team_dags_attaches_its_policy_to_the_platforms_worker_role(team: Plan, prod: Plan) -> None:
    attachment = team.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert attachment["role"] == prod.outputs["airflow_worker_role_name"] == "airflow-prod-airflow-worker-role"
    policy = team.one("aws:iam/policy:Policy")
    assert (
        attachment["policyArn"] == team.outputs["dags_policy_arn"] == f"arn:aws:iam::123456789012:policy/{policy.name}"
    )
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert [s["Action"] for s in statements] == [["s3:ListBucket"], ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]]


def test_team_dags_writes_its_connection_into_the_platform_namespace_through_its_kubeconfig(
    team: Plan, prod: Plan
) -> None:
    provider = team.one("pulumi:providers:kubernetes", "platform")
    assert provider.inputs["kubeconfig"] == SECRET  # the platform's kubeconfig stays a secret
    secret = team.one("kubernetes:core/v1:Secret", "analytics-connections")
    assert secret.inputs["metadata"]["namespace"] == prod.outputs["airflow_namespace"] == "airflow"
    assert secret.inputs["stringData"] == SECRET
    assert team.outputs["connections_secret_name"] == "analytics-connections"
    assert {r.type for r in team.resources} == {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "pulumi:providers:kubernetes",
        "kubernetes:core/v1:Secret",
    }


def consumer_snippets() -> list[str]:
    section = CONSUMER_DOCS.read_text().split("\n## For consuming teams\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_documented_consumer_snippets_work_against_the_prod_plan(prod: Plan) -> None:
    """A consumer written only from the contract's "For consuming teams": every Python block of it runs."""
    snippets = consumer_snippets()
    assert len(snippets) == 2  # the typed reader, and a plain StackReference
    for code in snippets:
        program = compile(code, str(CONSUMER_DOCS.relative_to(ROOT)), "exec")
        plan = run_mocked(
            consumer(functools.partial(exec, program, {"__name__": "__main__"})),
            "team",
            "us-east-1",
            project="consumer",
            stacks={STACK: prod.published()},
        )
        (attachment,) = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        assert attachment.inputs["role"] == prod.outputs["airflow_worker_role_name"]
        assert plan.outputs["airflow_url"] == prod.outputs["airflow_url"]


@pytest.mark.parametrize(
    ("stack", "overrides", "absent", "kept"),
    [
        (
            "byo-vpc",
            {},
            ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"],
            "aws:rds/instance:Instance",
        ),
        (
            "byo-db",
            {"existingDbPassword": "brought-p@ss"},  # `pulumi config set --secret`, as the file says
            ["aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup"],
            "aws:ec2/vpc:Vpc",
        ),
    ],
)
def test_the_example_stack_configurations_plan(
    prod: Plan, stack: str, overrides: dict[str, Any], absent: list[str], kept: str
) -> None:
    config = yaml.safe_load((EXAMPLES / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    plan = plan_once(stack, overrides, config_dir=EXAMPLES / "stacks")
    counts = plan.counts()
    assert all(counts[t] == 0 for t in absent), {t: counts[t] for t in absent}
    assert counts[kept] == 1
    assert counts["kubernetes:helm.sh/v3:Release"] == 3  # Airflow and both add-ons
    assert set(plan.outputs) == set(prod.outputs)  # every output, whatever the config
    if "airflow-eks:existingVpcId" in config:
        assert plan.outputs["vpc_id"] == config["airflow-eks:existingVpcId"]
        assert plan.outputs["vpc_node_subnet_ids"] == config["airflow-eks:existingNodeSubnetIds"]
    else:
        assert plan.outputs["db_address"] == config["airflow-eks:existingDbHost"]
        assert plan.outputs["db_security_group_id"] == config["airflow-eks:existingDbSecurityGroupId"]


def test_team_dags_runs_as_the_team_when_the_platform_declares_it() -> None:
    """Against the two-team example: the team's own task role and its deployer's kubeconfig, not the
    platform's shared role and admin kubeconfig (docs/teams.md)."""
    platform = plan_once("teams", config_dir=EXAMPLES / "stacks")
    project = yaml.safe_load((TEAM_DAGS / "Pulumi.yaml").read_text())["name"]
    plan = run_mocked(
        consumer(lambda: runpy.run_path(str(TEAM_DAGS / "__main__.py"), run_name="__main__")),
        "analytics",
        "us-east-1",
        config={"platformStack": STACK, "team": "analytics"},
        project=project,
        stacks={STACK: platform.published()},
    )
    attachment = plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert (
        attachment["role"] == platform.outputs["team_role_names"]["analytics"] == "airflow-teams-team-analytics-tasks"
    )
    assert attachment["role"] != platform.outputs["airflow_worker_role_name"]
    provider = plan.one("pulumi:providers:kubernetes", "platform")
    assert provider.inputs["kubeconfig"] == SECRET  # built from a secret output too: stays secret
    (kubeconfig,) = [value for path, value in provider.secrets if path == ("kubeconfig",)]
    assert kubeconfig == platform.outputs["team_kubeconfigs"]["analytics"]
    secret = plan.one("kubernetes:core/v1:Secret", "analytics-connections").inputs
    assert secret["metadata"]["name"] == "analytics-connections"  # the one name the team's Role may change
