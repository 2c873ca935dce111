"""The pack's own tests: they run in the pack's folder alone, with only its requirements.txt
(and pytest) installed, as `pulumi policy publish policy` takes it:

    cd policy && python -m pytest tests

Each policy flags a resource that breaks it and passes the same resource fixed; the engine's
view (pulumi-policy's resources, unknown values) becomes what the policies read. The
repository's own tests run the pack over the stacks' real plans.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyResource, PolicyResourceOptions, StackValidationArgs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the pack's folder, as the engine has it

import json

from airflow_eks_guardrails.declaration import (
    ENCRYPTION,
    IMDSV2,
    LEAST_PRIVILEGE_IAM,
    LOG_RETENTION,
    NO_PLAINTEXT_SECRETS,
    NO_PUBLIC_EXPOSURE,
    POLICY_NAMES,
    PRIVATE_TASK_IMAGES,
    PRODUCTION_HA,
    PRODUCTION_PROTECTION,
    PRODUCTION_TLS,
    TLS_ONLY_BUCKETS,
    guardrail_tags,
)
from airflow_eks_guardrails.model import (
    BUCKET,
    BUCKET_POLICY,
    DB,
    IAM_POLICY,
    IAM_ROLE,
    INLINE_POLICIES,
    INSTANCE,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LISTENER,
    LOAD_BALANCER,
    LOG_GROUP,
    RELEASE,
    SG,
    UNKNOWN,
    Resource,
    Stack,
)
from airflow_eks_guardrails.pack import plain, stack_of, validation
from airflow_eks_guardrails.rules import POLICIES

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k-1"
NOT_PRODUCTION = guardrail_tags(False, {})


def resource(type_: str, props: dict[str, Any], protect: bool = False, id_: str = "") -> Resource:
    return Resource(f"urn:pulumi:prod::airflow-eks::{type_}::r", type_, "r", props, protect, id_)


def violations(policy: str, *resources: Resource, marks_secrets: bool = True) -> list[str]:
    (check,) = (p.check for p in POLICIES if p.name == policy)
    return [v.message for v in check(Stack(resources, marks_secrets=marks_secrets))]


def test_every_declared_policy_is_in_the_pack_once() -> None:
    assert [p.name for p in POLICIES] == list(POLICY_NAMES)
    assert all(p.description for p in POLICIES)


def test_encryption_wants_a_rotating_key() -> None:
    key = {"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "enableKeyRotation": False}
    assert violations(ENCRYPTION, resource(KMS_KEY, key, id_="k-1"))
    assert violations(ENCRYPTION, resource(KMS_KEY, {**key, "enableKeyRotation": True}, id_="k-1")) == []


def test_the_load_balancer_stays_internal() -> None:
    assert violations(NO_PUBLIC_EXPOSURE, resource(LOAD_BALANCER, {"internal": False}))
    assert violations(NO_PUBLIC_EXPOSURE, resource(LOAD_BALANCER, {"internal": True})) == []


def test_nodes_take_imdsv2_with_one_hop() -> None:
    options = {"httpEndpoint": "enabled", "httpTokens": "optional", "httpPutResponseHopLimit": 2}
    assert len(violations(IMDSV2, resource(LAUNCH_TEMPLATE, {"metadataOptions": options}))) == 2
    fixed = {**options, "httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert violations(IMDSV2, resource(LAUNCH_TEMPLATE, {"metadataOptions": fixed})) == []


def test_only_the_nodes_and_a_nat_instance_reach_the_world() -> None:
    world = {"egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}
    group = resource(SG, world, id_="sg-nat")
    nat = {"sourceDestCheck": False, "vpcSecurityGroupIds": ["sg-nat"]}
    assert violations(NO_PUBLIC_EXPOSURE, group, resource(INSTANCE, nat)) == []
    # An instance that does not forward is no NAT path: its group may not reach the world.
    (message,) = violations(NO_PUBLIC_EXPOSURE, group, resource(INSTANCE, {**nat, "sourceDestCheck": True}))
    assert message.startswith("egress to the world from a group neither the nodes nor a NAT instance use")
    assert len(violations(NO_PUBLIC_EXPOSURE, group)) == 1


def test_production_leaves_through_nat_gateways_not_a_nat_instance() -> None:
    nat = {"sourceDestCheck": False, "subnetId": "subnet-a"}
    (message,) = violations(PRODUCTION_HA, resource(INSTANCE, nat))
    assert message == "NAT gateways, not a NAT instance (natGateways: perAz)"
    assert violations(PRODUCTION_HA, resource(INSTANCE, {**nat, "sourceDestCheck": True})) == []
    assert violations(PRODUCTION_HA, resource(INSTANCE, {**nat, "tags": NOT_PRODUCTION})) == []


def test_a_production_database_is_protected_and_a_declared_dev_one_need_not_be() -> None:
    db = {
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "final",
        "backupRetentionPeriod": 7,
        "deleteAutomatedBackups": False,
    }
    assert violations(PRODUCTION_PROTECTION, resource(DB, db, protect=True)) == []
    unprotected = resource(DB, {**db, "backupRetentionPeriod": 1}, protect=False)
    assert len(violations(PRODUCTION_PROTECTION, unprotected)) == 2
    dev = resource(DB, {**db, "backupRetentionPeriod": 1, "tags": NOT_PRODUCTION}, protect=False)
    assert violations(PRODUCTION_PROTECTION, dev) == []


def test_a_production_listener_terminates_tls_and_a_declared_dev_one_need_not() -> None:
    tls = {"protocol": "TLS", "port": 443.0, "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/c"}
    assert violations(PRODUCTION_TLS, resource(LISTENER, tls)) == []
    assert violations(PRODUCTION_TLS, resource(LISTENER, {"protocol": "HTTPS", "port": 443.0})) == []
    (message,) = violations(PRODUCTION_TLS, resource(LISTENER, {"protocol": "TCP", "port": 80.0}))
    assert message.startswith("the listener on port 80 is plain TCP: set nlbCertificateArn")
    assert f"policyWaivers: {{{PRODUCTION_TLS}: <why>}}" in message
    assert len(violations(PRODUCTION_TLS, resource(LISTENER, {"protocol": "UDP"}))) == 1
    assert violations(PRODUCTION_TLS, resource(LISTENER, {"protocol": UNKNOWN, "port": 80.0})) == []  # a preview
    dev = {"protocol": "TCP", "port": 80.0, "tags": NOT_PRODUCTION}
    assert violations(PRODUCTION_TLS, resource(LISTENER, dev)) == []


def test_a_password_in_clear_is_refused() -> None:
    assert violations(NO_PLAINTEXT_SECRETS, resource(DB, {"password": "hunter2-in-clear"}))
    assert violations(NO_PLAINTEXT_SECRETS, resource(DB, {"password": "[secret]"})) == []


def test_a_credential_in_a_helm_env_entry_is_refused() -> None:
    def release(entry: dict[str, Any]) -> Resource:
        return resource(RELEASE, {"values": {"workers": {"kubernetes": {"env": [entry]}}}})

    (message,) = violations(NO_PLAINTEXT_SECRETS, release({"name": "WAREHOUSE_PASSWORD", "value": "hunter2"}))
    assert message.startswith("values.workers.kubernetes.env[0] (WAREHOUSE_PASSWORD) holds a credential in clear")
    reference = {"name": "WAREHOUSE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    assert violations(NO_PLAINTEXT_SECRETS, release(reference)) == []
    assert violations(NO_PLAINTEXT_SECRETS, release({"name": "TOKEN_FILE", "value": "/var/run/token"})) == []
    command = {"name": "AIRFLOW__CORE__FERNET_KEY_CMD", "value": "cat /opt/airflow/secrets/fernet_key"}
    assert violations(NO_PLAINTEXT_SECRETS, release(command)) == []
    assert violations(NO_PLAINTEXT_SECRETS, release({"name": "AIRFLOW__CORE__FERNET_KEY", "value": "a-key"}))
    assert violations(NO_PLAINTEXT_SECRETS, release({"name": "API_TOKEN", "value": "[secret]"})) == []


def test_the_secrets_backend_class_and_its_arguments_are_no_credential() -> None:
    config = {"workers": {"secrets_backend": "airflow.secrets.environment_variables.EnvironmentVariablesBackend"}}
    assert violations(NO_PLAINTEXT_SECRETS, resource(RELEASE, {"values": {"config": config}})) == []
    env = {"AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS": '{"connections_prefix": "airflow/teams/a/connections"}'}
    assert violations(NO_PLAINTEXT_SECRETS, resource("kubernetes:core/v1:ConfigMap", {"data": env})) == []
    assert violations(NO_PLAINTEXT_SECRETS, resource("kubernetes:core/v1:ConfigMap", {"data": {"DB_SECRET": "x"}}))


def test_a_production_task_image_comes_from_a_private_ecr_registry() -> None:
    def listed(*repositories: str, tags: dict[str, str] | None = None) -> list[Resource]:
        config_map = resource(
            "kubernetes:core/v1:ConfigMap",
            {"metadata": {"name": "airflow-task-images"}, "data": {"repositories": "\n".join(repositories)}},
        )
        return [config_map, resource(KMS_KEY, {"tags": tags or {}})]

    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/analytics/airflow"
    assert violations(PRIVATE_TASK_IMAGES, *listed(ecr)) == []
    (message,) = violations(PRIVATE_TASK_IMAGES, *listed(ecr, "docker.io/acme/airflow"))
    assert message.startswith("task image repository docker.io/acme/airflow is outside a private ECR registry")
    assert violations(PRIVATE_TASK_IMAGES, *listed("public.ecr.aws/acme/airflow", tags=NOT_PRODUCTION)) == []


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource_: Any, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource_, **more}


def test_iam_refuses_wildcard_actions_and_resources_in_every_kind_of_policy() -> None:
    wildcard_action = policy_document(allow("s3:*", "arn:aws:s3:::logs/*"))
    (message,) = violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": wildcard_action}))
    assert message == "policy statement 0 allows the wildcard action s3:*: list the actions it needs"
    wildcard_resource = policy_document(allow(["s3:GetObject"], "*", Sid="Read"))
    for type_ in INLINE_POLICIES:
        (message,) = violations(LEAST_PRIVILEGE_IAM, resource(type_, {"policy": wildcard_resource}))
        assert message.startswith("policy statement Read allows s3:GetObject on *: name the resources")
    every_bucket = policy_document(allow("s3:GetObject", "arn:aws:s3:::*"))
    assert violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": every_bucket}))
    embedded = {"inlinePolicies": [{"name": "admin", "policy": policy_document(allow("*", "*"))}]}
    assert len(violations(LEAST_PRIVILEGE_IAM, resource(IAM_ROLE, embedded))) == 2
    not_action = policy_document({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:iam::*:*"})
    assert len(violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": not_action}))) == 2


def test_iam_accepts_scoped_grants_read_only_describes_and_tag_conditions() -> None:
    scoped = policy_document(
        allow(["ec2:DescribeSubnets", "ec2:GetInstanceTypesFromInstanceRequirements"], "*"),
        allow("s3:GetObject", "arn:aws:s3:::logs/task-logs/*"),
        allow(
            "autoscaling:SetDesiredCapacity",
            "*",
            Condition={"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/c": "owned"}},
        ),
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
    )
    assert violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": scoped})) == []
    assert violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": UNKNOWN})) == []
    conditioned_on_tls = policy_document(
        allow("s3:GetObject", "*", Condition={"Bool": {"aws:SecureTransport": "true"}})
    )
    assert violations(LEAST_PRIVILEGE_IAM, resource(IAM_POLICY, {"policy": conditioned_on_tls}))


def test_a_bucket_needs_a_policy_that_denies_plain_http() -> None:
    bucket = resource(BUCKET, {"bucket": "logs"}, id_="b-1")
    tls_only = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    (message,) = violations(TLS_ONLY_BUCKETS, bucket)
    assert message.startswith("add a BucketPolicy denying s3:* to every principal when aws:SecureTransport is false")
    good = resource(BUCKET_POLICY, {"bucket": "b-1", "policy": policy_document(tls_only)})
    assert violations(TLS_ONLY_BUCKETS, bucket, good) == []
    other = {**tls_only, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert violations(
        TLS_ONLY_BUCKETS, bucket, resource(BUCKET_POLICY, {"bucket": "b-1", "policy": policy_document(other)})
    )
    unknown = resource(BUCKET_POLICY, {"bucket": UNKNOWN, "policy": UNKNOWN})
    assert violations(TLS_ONLY_BUCKETS, bucket, unknown) == []  # a preview: which bucket is not known yet
    # The engine's view: no ID, an autonamed bucket; only a stack without any TLS-only policy fails.
    engine_bucket = resource(BUCKET, {"bucketPrefix": "logs-"})
    assert violations(TLS_ONLY_BUCKETS, engine_bucket, good) == []
    assert violations(TLS_ONLY_BUCKETS, engine_bucket)


def test_a_log_group_must_expire_its_events() -> None:
    assert violations(LOG_RETENTION, resource(LOG_GROUP, {"retentionInDays": 30})) == []
    assert violations(LOG_RETENTION, resource(LOG_GROUP, {"retentionInDays": 30.0})) == []  # the engine's number
    (message,) = violations(LOG_RETENTION, resource(LOG_GROUP, {"retentionInDays": 0}))
    assert message == "retentionInDays is 0: set a retention (0 or none keeps logs forever)"
    assert violations(LOG_RETENTION, resource(LOG_GROUP, {"name": "/aws/x"}))
    assert violations(LOG_RETENTION, resource(LOG_GROUP, {"retentionInDays": UNKNOWN})) == []


def engine_resource(props: dict[str, Any]) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], None, [])  # type: ignore[arg-type]
    return PolicyResource(LOAD_BALANCER, props, "urn:lb", "lb", options, None, None, [], {})


class Unknown(Exception):
    pass


class UnknownValueError(Exception):
    """What pulumi-policy 1.21 raises on reading a value a preview cannot know (its `proxy`)."""


class Props(dict[str, Any]):
    """A stand-in for pulumi-policy's props proxy: reading `unknown` raises."""

    def __init__(self, data: dict[str, Any], error: type[Exception]) -> None:
        super().__init__(data)
        self.error = error

    def __getitem__(self, key: str) -> Any:
        if key == "unknown":
            raise self.error(key)
        return super().__getitem__(key)


def test_unknown_values_of_a_preview_are_skipped_and_other_errors_are_not() -> None:
    props = Props({"internal": True, "unknown": None, "subnets": ["a", "b"]}, UnknownValueError)
    assert plain(props) == {"internal": True, "unknown": UNKNOWN, "subnets": ["a", "b"]}
    with pytest.raises(Unknown):
        plain(Props({"unknown": None}, Unknown))


def test_the_engine_runs_each_policy_mandatory_and_a_waived_one_advisory() -> None:
    public = engine_resource({"internal": False})
    args = StackValidationArgs([public])
    assert stack_of(args).resources[0].props == {"internal": False}
    (policy,) = (p for p in POLICIES if p.name == NO_PUBLIC_EXPOSURE)
    reported: list[tuple[str, str | None]] = []
    mandatory = validation(policy, waived=False)
    assert mandatory.enforcement_level == EnforcementLevel.MANDATORY
    mandatory.validate(args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert [urn for _, urn in reported] == ["urn:lb"]
    reason = "a public demo behind its own firewall"
    waived_props = {"internal": False, "tags": guardrail_tags(True, {NO_PUBLIC_EXPOSURE: reason})}
    waived_args = StackValidationArgs([engine_resource(waived_props)])
    reported.clear()
    mandatory.validate(waived_args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert reported == []
    advisory = validation(policy, waived=True)
    assert advisory.enforcement_level == EnforcementLevel.ADVISORY
    advisory.validate(waived_args, lambda message, urn=None: reported.append((message, urn)))  # type: ignore[misc]
    assert len(reported) == 1 and reported[0][0].endswith(f"[waived: {reason}]")
