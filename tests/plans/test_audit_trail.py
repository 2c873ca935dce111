"""The audit trail: VPC flow logs and EKS control-plane logs in CloudWatch, each group with its
retention and its own key, and the key policies of the new keys (log groups, node volumes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.errors import ConfigError
from offline.fakes import ACCOUNT_ID, fake_id
from offline.mocks import Plan, ProgramError, Registration, run_program
from tests.support.plans import plan_once
from tests.support.settings import settings_of

KEY = "aws:kms/key:Key"
GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLOW = "aws:ec2/flowLog:FlowLog"
ROOT = {
    "Sid": "AccountAdministersThroughIam",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
    "Action": ["kms:*"],
    "Resource": "*",
}
RETENTION = {"dev": 30, "prod": 365}


def key_arn(key: Registration) -> str:
    return f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{fake_id(KEY, key.name)}"


def statements(resource: Registration, field: str = "policy") -> list[dict[str, Any]]:
    return list(json.loads(resource.inputs[field])["Statement"])


def logs_key_statements(group: str) -> list[dict[str, Any]]:
    """What a log group's key may do: the account through IAM, CloudWatch Logs for that group only."""
    return [
        ROOT,
        {
            "Sid": "LogsEncryptThisGroup",
            "Effect": "Allow",
            "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:{group}"
                }
            },
        },
    ]


def assert_kept_group(plan: Plan, stack: str, name: str, group: str) -> Registration:
    """The log group `group` with the stack's retention and its own rotating key; both kept on
    destroy, and protected where the stack protects its stateful resources."""
    log_group, key = plan.one(GROUP, name), plan.one(KEY, f"{name}-key")
    assert log_group.inputs["name"] == group
    assert log_group.inputs["retentionInDays"] == RETENTION[stack]
    assert log_group.inputs["kmsKeyId"] == key_arn(key)
    assert statements(key) == logs_key_statements(group)
    assert key.inputs["enableKeyRotation"] is True
    assert log_group.retain_on_delete and key.retain_on_delete
    assert log_group.protect is key.protect is (stack == "prod")
    assert plan.one("aws:kms/alias:Alias", f"{name}-key-alias").inputs["name"] == f"alias/{name}"
    return log_group


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_vpc_flow_logs_go_to_their_own_encrypted_group(plans: dict[str, Plan], stack: str) -> None:
    plan, name = plans[stack], f"airflow-{stack}-flow-logs"
    group = assert_kept_group(plan, stack, name, f"/aws/vpc/airflow-{stack}/flow-logs")
    (flow,) = plan.of_type(FLOW)
    role, policy = (
        plan.one("aws:iam/role:Role", f"{name}-role"),
        plan.one("aws:iam/rolePolicy:RolePolicy", f"{name}-role-policy"),
    )
    assert flow.inputs == {
        "vpcId": plan.outputs["vpc_id"],
        "trafficType": "ALL",
        "logDestinationType": "cloud-watch-logs",
        "logDestination": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/vpc/airflow-{stack}/flow-logs",
        "iamRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role.name}",
        "maxAggregationInterval": 600,
        "tags": flow.inputs["tags"],
    }
    assert {group.urn, role.urn, policy.urn} <= set(flow.dependencies)  # delivery is allowed before it starts
    assert plan.outputs["vpc_flow_log_group_name"] == group.inputs["name"]


def test_only_vpc_flow_logs_of_this_account_may_use_the_role_on_its_group_only(prod: Plan) -> None:
    role = prod.one("aws:iam/role:Role", "airflow-prod-flow-logs-role")
    assert statements(role, "assumeRolePolicy") == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:vpc-flow-log/*"},
            },
        }
    ]
    group = f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/vpc/airflow-prod/flow-logs"
    policy = prod.one("aws:iam/rolePolicy:RolePolicy", "airflow-prod-flow-logs-role-policy")
    assert policy.inputs["role"] == role.name
    assert statements(policy) == [
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group, f"{group}:*"],
        },
        {
            "Sid": "FindTheGroup",
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:*",
        },
    ]


def test_a_brought_vpc_gets_flow_logs_too() -> None:
    from tests.support.overrides import BYO

    plan = plan_once("prod", BYO)
    (flow,) = plan.of_type(FLOW)
    assert flow.inputs["vpcId"] == BYO["existingVpcId"]
    assert plan.outputs["vpc_flow_log_group_name"] == "/aws/vpc/airflow-prod/flow-logs"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_control_plane_logs_go_to_a_group_made_before_the_cluster(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    group = assert_kept_group(plan, stack, f"airflow-{stack}-cluster-logs", f"/aws/eks/airflow-{stack}/cluster")
    cluster = plan.one("eks:index:Cluster")
    # EKS names its group after the cluster: the one created here, first, so EKS never makes its own.
    assert group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert group.urn in cluster.dependencies
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert plan.outputs["cluster_log_group_name"] == group.inputs["name"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_volumes_key_lets_only_auto_scaling_launch_with_it(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    key = plan.one(KEY, f"airflow-{stack}-node-volume-key")
    role = {
        "AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    }
    assert statements(key) == [
        ROOT,
        {
            "Sid": "AutoScalingUsesTheKey",
            "Effect": "Allow",
            "Principal": role,
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
        },
        {
            "Sid": "AutoScalingGrantsForVolumes",
            "Effect": "Allow",
            "Principal": role,
            "Action": ["kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
        },
    ]
    assert key.inputs["enableKeyRotation"] is True and key.protect is (stack == "prod")
    # The node groups' templates; dev's NAT instance has its own key (tests/plans/test_network.py).
    templates = [t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") if "nat-instance" not in t.name]
    assert len(templates) == 3
    for template in templates:
        (mapping,) = template.inputs["blockDeviceMappings"]
        assert mapping["ebs"]["encrypted"] == "true" and mapping["ebs"]["kmsKeyId"] == key_arn(key)
        assert key.urn in template.dependencies


@pytest.mark.parametrize("key", ["secrets-key", "db-key", "efs-key", "task-logs-key"])
def test_keys_used_through_grants_or_iam_keep_the_default_policy(prod: Plan, key: str) -> None:
    # EKS, RDS and EFS use their keys through grants made with the caller's IAM permissions, the
    # task-logs role through its IAM policy: AWS's default policy (the account, through IAM) is
    # what their guides document, and nothing else may use them (docs/security.md, Audit trail).
    assert "policy" not in prod.one(KEY, f"airflow-prod-{key}").inputs


def test_the_retention_comes_from_config_and_a_bad_one_is_refused_before_any_resource() -> None:
    plan = plan_once("dev", {"auditLogRetentionDays": 731})
    audit = [g for g in plan.of_type(GROUP) if g.name.endswith(("-flow-logs", "-cluster-logs"))]
    assert {g.inputs["name"]: g.inputs["retentionInDays"] for g in audit} == {
        "/aws/vpc/airflow-dev/flow-logs": 731,
        "/aws/eks/airflow-dev/cluster": 731,
    }
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"auditLogRetentionDays": 366})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == "auditLogRetentionDays", cause
    assert "366 is not a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30" in str(cause)
    assert failure.value.registrations == []


# --------------------------------------------------------------------------- a stack re-created

FLOW_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
CLUSTER_KEY_ID = "mrk-0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_destroy_keeps_exactly_the_groups_a_re_created_stack_can_adopt(plans: dict[str, Plan], stack: str) -> None:
    """What `adoptKeptAuditLogs` accepts is what a destroy leaves: every log group kept on delete."""
    kept = sorted(g.inputs["name"] for g in plans[stack].of_type(GROUP) if g.retain_on_delete)
    assert kept == sorted(settings_of(stack).kept_audit_log_groups)
    assert kept == [f"/aws/eks/airflow-{stack}/cluster", f"/aws/vpc/airflow-{stack}/flow-logs"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_re_created_stack_imports_the_kept_groups_and_keys(plans: dict[str, Plan], stack: str) -> None:
    """A stack re-created under the name of a destroyed one would collide with the log groups
    (and find the keys) the destroy kept; listed in `adoptKeptAuditLogs`, each group and its key are
    imported (the engine adopts them: the same trail, the same key, the retention of the config)
    with the inputs the stack always gives them, so the import finds nothing to change."""
    adopt = {
        f"/aws/vpc/airflow-{stack}/flow-logs": FLOW_KEY_ID,
        f"/aws/eks/airflow-{stack}/cluster": CLUSTER_KEY_ID,
    }
    plan, before = plan_once(stack, {"adoptKeptAuditLogs": adopt}), plans[stack]
    for name, group, key_id in (
        (f"airflow-{stack}-flow-logs", f"/aws/vpc/airflow-{stack}/flow-logs", FLOW_KEY_ID),
        (f"airflow-{stack}-cluster-logs", f"/aws/eks/airflow-{stack}/cluster", CLUSTER_KEY_ID),
    ):
        log_group, key = plan.one(GROUP, name), plan.one(KEY, f"{name}-key")
        assert (log_group.import_id, key.import_id) == (group, key_id)
        assert key.ignore_changes == ("deletionWindowInDays",)  # AWS does not report it
        assert log_group.ignore_changes == ()
        assert log_group.inputs == before.one(GROUP, name).inputs
        assert key.inputs == before.one(KEY, f"{name}-key").inputs
        assert (log_group.urn, key.urn) == (before.one(GROUP, name).urn, before.one(KEY, f"{name}-key").urn)
    # Nothing else is imported; without the key, nothing is.
    assert len([r for r in plan.resources if r.import_id]) == 4
    assert not [r for r in before.resources if r.import_id or r.ignore_changes == ("deletionWindowInDays",)]


@pytest.mark.parametrize(
    ("adopt", "key", "message"),
    [
        (
            {"/aws/eks/airflow-other/cluster": FLOW_KEY_ID},
            "adoptKeptAuditLogs./aws/eks/airflow-other/cluster",
            "accepted: /aws/vpc/airflow-dev/flow-logs, /aws/eks/airflow-dev/cluster",
        ),
        (
            {"/aws/vpc/airflow-dev/flow-logs": f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{FLOW_KEY_ID}"},
            "adoptKeptAuditLogs./aws/vpc/airflow-dev/flow-logs",
            "is not a KMS key ID",
        ),
    ],
)
def test_only_the_stacks_own_kept_groups_with_key_ids_are_adopted(
    adopt: dict[str, str], key: str, message: str
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", {"adoptKeptAuditLogs": adopt})
    cause = failure.value.cause
    assert isinstance(cause, ConfigError) and cause.key == key, cause
    assert message in str(cause) and failure.value.registrations == []
