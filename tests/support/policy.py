"""Plan data the policy pack reads, and the mutations that break each policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from policy.airflow_eks_guardrails.declaration import (
    ENCRYPTION,
    IMDSV2,
    LEAST_PRIVILEGE_IAM,
    LOG_RETENTION,
    NO_PLAINTEXT_SECRETS,
    NO_PUBLIC_EXPOSURE,
    PRIVATE_TASK_IMAGES,
    PRODUCTION_HA,
    PRODUCTION_PROTECTION,
    PRODUCTION_TLS,
    TLS_ONLY_BUCKETS,
)
from policy.airflow_eks_guardrails.model import plan_stack
from reports import guardrails as cli

PlanData = dict[str, Any]


def find(plan: PlanData, type_suffix: str, name: str) -> dict[str, Any]:
    found = [r for r in plan["resources"] if r["type"].endswith(type_suffix) and r["name"] == name]
    assert len(found) == 1, f"{type_suffix} {name}: {len(found)} found"
    return found[0]


def release(plan: PlanData) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"].endswith("Release") and r["inputs"]["chart"] == "airflow")


def drop(plan: PlanData, type_suffix: str, name: str) -> None:
    plan["resources"].remove(find(plan, type_suffix, name))


def found(plan: PlanData) -> set[tuple[str, str]]:
    mandatory, _ = cli.evaluate(plan_stack(plan))
    return {(v.policy, v.urn) for v in mandatory}


Mutation = Callable[[PlanData], dict[str, Any]]
"""Breaks the plan and returns the resource the violation must name."""


def _public_task_image(plan: PlanData) -> dict[str, Any]:
    """The task images' ConfigMap `taskImageRepositories` gives (components/task_images.py), listing Docker Hub."""
    config_map = {
        "urn": "urn:pulumi:prod::airflow-eks::airflow:index:TaskImages$kubernetes:core/v1:ConfigMap::task-images",
        "type": "kubernetes:core/v1:ConfigMap",
        "name": "airflow-prod-task-images-config-map",
        "inputs": {"metadata": {"name": "airflow-task-images"}, "data": {"repositories": "docker.io/acme/airflow"}},
    }
    plan["resources"].append(config_map)
    return config_map


def _set(type_suffix: str, name: str, edit: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(plan: PlanData) -> dict[str, Any]:
        resource = find(plan, type_suffix, name)
        edit(resource)
        return resource

    return mutate


def _plain_listener(inputs: dict[str, Any]) -> None:
    for key in ("certificateArn", "sslPolicy"):
        inputs.pop(key)
    inputs.update(protocol="TCP", port=80.0)


def _values(edit: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(plan: PlanData) -> dict[str, Any]:
        resource = release(plan)
        edit(resource["inputs"]["values"])
        return resource

    return mutate


def _dropping(type_suffix: str, name: str, then: Mutation) -> Mutation:
    def mutate(plan: PlanData) -> dict[str, Any]:
        drop(plan, type_suffix, name)
        return then(plan)

    return mutate


def _unchanged(type_suffix: str, name: str) -> Mutation:
    return _set(type_suffix, name, lambda r: None)


def _statement(index: int, drop: str = "", **changes: Any) -> Callable[[dict[str, Any]], None]:
    """Edits one statement of a resource's JSON policy document (`policy`): `changes`, and `drop` removed."""

    def edit(resource: dict[str, Any]) -> None:
        document = json.loads(resource["inputs"]["policy"])
        document["Statement"][index].update(changes)
        document["Statement"][index].pop(drop, None)
        resource["inputs"]["policy"] = json.dumps(document)

    return edit


ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


MUTATIONS: dict[str, tuple[str, Mutation]] = {
    "db-aws-managed-key": (ENCRYPTION, _set("Instance", "airflow-prod-db", lambda r: r["inputs"].pop("kmsKeyId"))),
    "key-not-rotating": (
        ENCRYPTION,
        _set("Key", "airflow-prod-efs-key", lambda r: r["inputs"].update(enableKeyRotation=False)),
    ),
    "efs-unencrypted": (
        ENCRYPTION,
        _set("FileSystem", "airflow-prod-efs", lambda r: r["inputs"].update(encrypted=False)),
    ),
    "eks-secrets-aws-key": (
        ENCRYPTION,
        _set("Cluster", "airflow-prod-eks", lambda r: r["inputs"].update(encryptionConfigKeyArn="alias/aws/eks")),
    ),
    "node-volume-default-key": (
        ENCRYPTION,
        _set(
            "LaunchTemplate",
            "airflow-prod-workers-lt",
            lambda r: r["inputs"]["blockDeviceMappings"][0]["ebs"].pop("kmsKeyId"),
        ),
    ),
    "endpoint-open-in-halves": (
        NO_PUBLIC_EXPOSURE,
        _set(
            "Cluster", "airflow-prod-eks", lambda r: r["inputs"].update(publicAccessCidrs=["0.0.0.0/1", "128.0.0.0/1"])
        ),
    ),
    "internet-facing-nlb": (
        NO_PUBLIC_EXPOSURE,
        _set("LoadBalancer", "airflow-prod-nlb", lambda r: r["inputs"].update(internal=False)),
    ),
    "ui-open-to-world": (
        NO_PUBLIC_EXPOSURE,
        _set(
            "SecurityGroupIngressRule",
            "airflow-prod-nlb-ingress-10-8-0-0-16",
            lambda r: r["inputs"].update(cidrIpv4="0.0.0.0/0"),
        ),
    ),
    "public-database": (
        NO_PUBLIC_EXPOSURE,
        _set("Instance", "airflow-prod-db", lambda r: r["inputs"].update(publiclyAccessible=True)),
    ),
    "service-load-balancer": (
        NO_PUBLIC_EXPOSURE,
        _values(lambda v: v["apiServer"].update(service={"type": "LoadBalancer"})),
    ),
    "hop-limit-2": (
        IMDSV2,
        _set(
            "LaunchTemplate",
            "airflow-prod-system-lt",
            lambda r: r["inputs"]["metadataOptions"].update(httpPutResponseHopLimit=2),
        ),
    ),
    "imdsv1-allowed": (
        IMDSV2,
        _set(
            "LaunchTemplate",
            "airflow-prod-airflow-lt",
            lambda r: r["inputs"]["metadataOptions"].update(httpTokens="optional"),
        ),
    ),
    "group-without-template": (
        IMDSV2,
        _set("ManagedNodeGroup", "airflow-prod-workers", lambda r: r["inputs"].pop("launchTemplate")),
    ),
    "db-unprotected": (PRODUCTION_PROTECTION, _set("Instance", "airflow-prod-db", lambda r: r.update(protect=False))),
    "no-final-snapshot": (
        PRODUCTION_PROTECTION,
        _set("Instance", "airflow-prod-db", lambda r: r["inputs"].update(skipFinalSnapshot=True)),
    ),
    "key-unprotected": (PRODUCTION_PROTECTION, _set("Key", "airflow-prod-db-key", lambda r: r.update(protect=False))),
    "efs-backups-off": (
        PRODUCTION_PROTECTION,
        _dropping("BackupPolicy", "airflow-prod-efs-backup", _unchanged("FileSystem", "airflow-prod-efs")),
    ),
    "single-az-db": (PRODUCTION_HA, _set("Instance", "airflow-prod-db", lambda r: r["inputs"].update(multiAz=False))),
    "one-nat": (
        PRODUCTION_HA,
        _dropping(
            "NatGateway",
            "airflow-prod-nat-b",
            _dropping("NatGateway", "airflow-prod-nat-c", _unchanged("NatGateway", "airflow-prod-nat-a")),
        ),
    ),
    "group-in-two-zones": (
        PRODUCTION_HA,
        _set(
            "ManagedNodeGroup",
            "airflow-prod-airflow",
            lambda r: r["inputs"].update(subnetIds=r["inputs"]["subnetIds"][:2]),
        ),
    ),
    "mount-target-missing": (
        PRODUCTION_HA,
        _dropping("MountTarget", "airflow-prod-efs-mt-c", _unchanged("MountTarget", "airflow-prod-efs-mt-a")),
    ),
    "one-triggerer": (PRODUCTION_HA, _values(lambda v: v["triggerer"].update(replicas=1))),
    "scheduler-not-spread": (PRODUCTION_HA, _values(lambda v: v["scheduler"].update(topologySpreadConstraints=[]))),
    "triggerer-without-budget": (
        PRODUCTION_HA,
        _values(lambda v: v["triggerer"].update(podDisruptionBudget={"enabled": False})),
    ),
    "fernet-key-in-values": (NO_PLAINTEXT_SECRETS, _values(lambda v: v.update(fernetKey="bXktZmVybmV0LWtleQ=="))),
    "uri-with-password-in-values": (
        NO_PLAINTEXT_SECRETS,
        _values(
            lambda v: v["scheduler"].update(
                env=[{"name": "DB", "value": "postgresql://airflow:hunter2@db:5432/airflow"}]
            )
        ),
    ),
    "credential-in-helm-env": (
        NO_PLAINTEXT_SECRETS,
        _values(lambda v: v["workers"]["kubernetes"]["env"].append({"name": "WAREHOUSE_PASSWORD", "value": "hunter2"})),
    ),
    "iam-wildcard-action": (
        LEAST_PRIVILEGE_IAM,
        _set("Policy", "airflow-prod-lb-controller-policy", _statement(1, Action="elasticloadbalancing:*")),
    ),
    "iam-wildcard-resource": (
        LEAST_PRIVILEGE_IAM,
        _set("RolePolicy", "airflow-prod-task-logs-role-policy", _statement(1, Resource="*")),
    ),
    "iam-unconditioned-scaling": (
        LEAST_PRIVILEGE_IAM,
        _set("Policy", "airflow-prod-cluster-autoscaler-policy", _statement(2, drop="Condition")),
    ),
    "role-with-inline-admin": (
        LEAST_PRIVILEGE_IAM,
        _set(
            "Role",
            "airflow-prod-airflow-worker-role",
            lambda r: r["inputs"].update(inlinePolicies=[{"name": "admin", "policy": ADMIN}]),
        ),
    ),
    "bucket-without-tls-policy": (
        TLS_ONLY_BUCKETS,
        _dropping("BucketPolicy", "airflow-prod-task-logs-policy", _unchanged("Bucket", "airflow-prod-task-logs")),
    ),
    "log-group-never-expires": (
        LOG_RETENTION,
        _set("LogGroup", "airflow-prod-flow-logs", lambda r: r["inputs"].update(retentionInDays=0)),
    ),
    "log-group-without-retention": (
        LOG_RETENTION,
        _set("LogGroup", "airflow-prod-cluster-logs", lambda r: r["inputs"].pop("retentionInDays")),
    ),
    "secret-data-not-secret": (
        NO_PLAINTEXT_SECRETS,
        _set(
            "Secret", "airflow-prod-fernet-key-secret", lambda r: r["inputs"].update(stringData={"fernet-key": "abc"})
        ),
    ),
    "nlb-listener-plain-tcp": (
        PRODUCTION_TLS,
        # The listener the program writes without nlbCertificateArn.
        _set("Listener", "airflow-prod-nlb-listener", lambda r: _plain_listener(r["inputs"])),
    ),
    "db-password-not-secret": (
        NO_PLAINTEXT_SECRETS,
        _set("Instance", "airflow-prod-db", lambda r: r["inputs"].update(password="hunter2")),
    ),
    "public-task-image": (PRIVATE_TASK_IMAGES, _public_task_image),
}
