"""Cluster add-ons (lib/cluster/helm_addons.py, components/cluster_addon.py): pinned charts, IRSA, least privilege."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from config.cluster import SUPPORTED_KUBERNETES_VERSIONS
from config.settings import load_settings
from lib.cluster.helm_addons import (
    CLUSTER_AUTOSCALER,
    CLUSTER_AUTOSCALER_IMAGE_TAGS,
    IRSA_ANNOTATION,
    LOAD_BALANCER_CONTROLLER,
    TARGET_GROUP_BINDING_TAG,
    AddonChart,
    cluster_autoscaler_values,
    irsa_values,
    partition,
)
from lib.cluster.scheduling import NODE_GROUP_LABEL
from lib.merge import compose
from offline.mocks import Plan, Registration
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MNG = "eks:index:ManagedNodeGroup"
ADDONS = {
    "lb-controller": (LOAD_BALANCER_CONTROLLER, "addon_load_balancer_controller_role_arn"),
    "cluster-autoscaler": (CLUSTER_AUTOSCALER, "addon_cluster_autoscaler_role_arn"),
}
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def addon(plan: Plan, key: str) -> Registration:
    return plan.one("airflow:index:ClusterAddon", f"airflow-{plan.stack}-{key}")


def child(plan: Plan, key: str, type_: str) -> Registration:
    (found,) = [r for r in plan.of_type(type_) if r.parent == addon(plan, key).urn]
    return found


def release_values(plan: Plan, key: str) -> dict[str, Any]:
    values: dict[str, Any] = child(plan, key, RELEASE).inputs["values"]
    return values


def at(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        values = values[part]
    return values


def statements(plan: Plan, key: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(child(plan, key, POLICY).inputs["policy"])
    return list(document["Statement"])


def actions(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else list(statement["Action"])


@pytest.fixture(scope="module")
def overridden() -> Plan:
    return plan_once(
        "dev",
        {
            "loadBalancerControllerValues": {
                "logLevel": "debug",
                "serviceAccount": {"annotations": {"example.com/team": "platform"}},
            },
            "clusterAutoscalerValues": {"extraArgs": {"expander": "priority"}},
        },
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("key", list(ADDONS))
def test_pinned_chart_release_in_kube_system(plans: dict[str, Plan], stack: str, key: str) -> None:
    plan = plans[stack]
    chart, _ = ADDONS[key]
    release = child(plan, key, RELEASE)
    i = release.inputs
    assert SEMVER.match(i["version"]), i["version"]  # pinned, never a range or "latest"
    assert (i["chart"], i["version"], i["repositoryOpts"]) == (chart.chart, chart.version, {"repo": chart.repository})
    assert i["namespace"] == "kube-system" and i["name"] == chart.release_name
    assert i["atomic"] is True and i["skipAwait"] is False and i["createNamespace"] is False
    # Its pods need nodes, and its role needs its policy, before the release settles.
    for group in plan.of_type(MNG):
        assert group.urn in release.dependencies, group.name
    assert child(plan, key, ATTACHMENT).urn in release.dependencies


def test_pins_are_literals_in_code() -> None:
    for chart in (LOAD_BALANCER_CONTROLLER, CLUSTER_AUTOSCALER):
        assert SEMVER.match(chart.version)
    assert (LOAD_BALANCER_CONTROLLER.repository, LOAD_BALANCER_CONTROLLER.chart) == (
        "https://aws.github.io/eks-charts",
        "aws-load-balancer-controller",
    )
    assert (CLUSTER_AUTOSCALER.repository, CLUSTER_AUTOSCALER.chart) == (
        "https://kubernetes.github.io/autoscaler",
        "cluster-autoscaler",
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("key", list(ADDONS))
def test_irsa_role_trusts_only_the_service_account(plans: dict[str, Plan], stack: str, key: str) -> None:
    plan = plans[stack]
    chart, output = ADDONS[key]
    role = child(plan, key, ROLE)
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": plan.outputs["cluster_oidc_provider_arn"]}
    issuer = plan.outputs["cluster_oidc_provider_arn"].split(":oidc-provider/", 1)[1]
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": f"system:serviceaccount:kube-system:{chart.service_account}",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }
    values = release_values(plan, key)
    # The chart creates the service account the trust names, annotated with this role.
    account = at(values, chart.service_account_annotations_path[:-1])
    assert account["name"] == chart.service_account and account["create"] is True
    assert account["annotations"] == {IRSA_ANNOTATION: plan.outputs[output]}
    assert plan.outputs[output] == f"arn:aws:iam::123456789012:role/{role.name}"
    attachment = child(plan, key, ATTACHMENT)
    assert attachment.inputs["role"] == role.name
    assert attachment.inputs["policyArn"].endswith(f":policy/{child(plan, key, POLICY).name}")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_load_balancer_controller_may_only_bind_targets(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    granted = [a for s in statements(plan, "lb-controller") for a in actions(s)]
    writes = [a for a in granted if not a.split(":")[1].startswith(("Describe", "Get"))]
    assert sorted(writes) == ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"]
    assert not [
        a for a in granted if a.startswith(("iam:", "ec2:Create", "ec2:Authorize", "ec2:Revoke", "shield:", "waf"))
    ]
    # Read in controller v3.4.3 (the same in v3.5.0): a binding without spec.networking still runs the networking
    # reconcile, and its finalizer's cleanup does too, both starting with DescribeSecurityGroups.
    # Without it, every reconcile fails and the finalizer is never removed (destroy hangs).
    assert "ec2:DescribeSecurityGroups" in granted
    (register,) = [s for s in statements(plan, "lb-controller") if "elasticloadbalancing:RegisterTargets" in actions(s)]
    assert register["Resource"] == "arn:aws:elasticloadbalancing:us-east-1:*:targetgroup/*/*"
    condition_key = f"aws:ResourceTag/{TARGET_GROUP_BINDING_TAG}"
    assert register["Condition"] == {"StringEquals": {condition_key: plan.outputs["cluster_name"]}}
    # ... and the one target group it must fill carries exactly that tag.
    assert (
        plan.one("aws:lb/targetGroup:TargetGroup").inputs["tags"][TARGET_GROUP_BINDING_TAG]
        == plan.outputs["cluster_name"]
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_autoscaler_may_only_scale_its_own_groups(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    cluster = plan.outputs["cluster_name"]
    by_action = {a: s for s in statements(plan, "cluster-autoscaler") for a in actions(s)}
    for scale in ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"):
        assert by_action[scale]["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}
        }
    assert by_action["eks:DescribeNodegroup"]["Resource"] == f"arn:aws:eks:us-east-1:*:nodegroup/{cluster}/*/*"
    writes = {a for a in by_action if not a.split(":")[1].startswith(("Describe", "Get"))}
    assert writes == {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}
    for action, statement in by_action.items():
        if statement["Resource"] == "*" and action in writes:
            assert "Condition" in statement, action


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_load_balancer_controller_values(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    v = release_values(plan, "lb-controller")
    assert v["clusterName"] == plan.outputs["cluster_name"]
    assert v["region"] == "us-east-1"
    assert v["vpcId"] == plan.outputs["vpc_id"]  # explicit: one IMDS hop keeps pods off instance metadata
    assert v["replicaCount"] == 2
    assert v["nodeSelector"] == {NODE_GROUP_LABEL: "system"}
    system = plan.one(MNG, f"airflow-{stack}-system").inputs
    assert v["nodeSelector"].items() <= system["labels"].items()
    assert v["enableServiceMutatorWebhook"] is False  # Services of type LoadBalancer are not its business


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_autoscaler_values(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    cluster = plan.outputs["cluster_name"]
    v = release_values(plan, "cluster-autoscaler")
    assert v["cloudProvider"] == "aws" and v["awsRegion"] == "us-east-1"
    assert v["autoDiscovery"] == {
        "clusterName": cluster,
        "tags": ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster}"],
    }
    minor = plan.outputs["cluster_kubernetes_version"]
    assert v["image"]["tag"].startswith(f"v{minor}.")  # the autoscaler must match the cluster's minor
    assert v["extraArgs"]["balance-similar-node-groups"] is True
    assert v["extraArgs"]["skip-nodes-with-system-pods"] is False
    assert v["extraArgs"]["expander"] == "least-waste"
    assert v["nodeSelector"] == {NODE_GROUP_LABEL: "system"}


def test_every_supported_kubernetes_version_has_a_matching_autoscaler() -> None:
    config, region = resolve_stack_config("dev")
    group = load_settings(config, "dev", region).node_group("system")
    assert set(CLUSTER_AUTOSCALER_IMAGE_TAGS) == set(SUPPORTED_KUBERNETES_VERSIONS)
    for version in SUPPORTED_KUBERNETES_VERSIONS:
        values = compose([("values", cluster_autoscaler_values("c", "us-east-1", version, group))])
        assert values["image"]["tag"].startswith(f"v{version}.")
    with pytest.raises(ValueError):
        cluster_autoscaler_values("c", "us-east-1", "1.20", group)


def test_user_overrides_are_merged_last(overridden: Plan, dev: Plan) -> None:
    lb = release_values(overridden, "lb-controller")
    assert lb["logLevel"] == "debug" and "logLevel" not in release_values(dev, "lb-controller")
    assert lb["serviceAccount"]["annotations"] == {
        IRSA_ANNOTATION: overridden.outputs["addon_load_balancer_controller_role_arn"],
        "example.com/team": "platform",
    }
    assert lb["clusterName"] == overridden.outputs["cluster_name"]  # the rest is kept
    ca = release_values(overridden, "cluster-autoscaler")
    assert ca["extraArgs"]["expander"] == "priority"
    assert ca["extraArgs"]["balance-similar-node-groups"] is True
    assert ca["rbac"]["serviceAccount"]["annotations"] == {
        IRSA_ANNOTATION: overridden.outputs["addon_cluster_autoscaler_role_arn"]
    }


def test_irsa_values_follow_the_chart_path_and_partitions() -> None:
    chart = AddonChart("x", "https://e.example.com", "x", "1.0.0", "x", "sa", ("a", "b", "annotations"))
    assert compose([("irsa", irsa_values(chart, "arn"))]) == {"a": {"b": {"annotations": {IRSA_ANNOTATION: "arn"}}}}
    assert [partition(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1")] == ["aws", "aws-cn", "aws-us-gov"]
