"""Cluster component: endpoint access, encryption, logs, access entries, OIDC, add-ons, provider."""

from __future__ import annotations

import json

import pytest

from components.cluster import CLUSTER_ADMIN_POLICY
from config.settings import load_settings
from lib.cluster.managed_addons import MANAGED_ADDONS
from lib.cluster.versions import DEFAULT_VERSION
from offline.fakes import fake_id
from offline.mocks import SECRET, Plan
from offline.stack_config import resolve_stack_config
from tests.support.plans import plan_once

EKS = "eks:index:Cluster"
KEY = "aws:kms/key:Key"


@pytest.mark.parametrize(("stack", "policy"), [("dev", "STANDARD"), ("prod", "EXTENDED")])
def test_cluster_inputs(plans: dict[str, Plan], stack: str, policy: str) -> None:
    plan = plans[stack]
    assert len(plan.of_type(EKS)) == 1
    cluster = plan.one(EKS, f"airflow-{stack}-eks")
    i = cluster.inputs
    assert cluster.custom is False  # a pulumi-eks component
    assert i["name"] == f"airflow-{stack}" == plan.outputs["cluster_name"]
    assert i["version"] == DEFAULT_VERSION == plan.outputs["cluster_kubernetes_version"]
    # dev is upgraded by EKS at the end of standard support; prod states that it pays extended support.
    assert i["upgradePolicy"] == {"supportType": policy}
    # `pulumi up` runs from the internet: the public endpoint, open to the deployer's CIDR only.
    assert i["endpointPrivateAccess"] is True
    assert i["endpointPublicAccess"] is True
    assert i["publicAccessCidrs"] == ["203.0.113.10/32"]
    assert i["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert i["authenticationMode"] == "API"
    assert i["skipDefaultNodeGroup"] is True and i["skipDefaultSecurityGroups"] is True
    assert i["createOidcProvider"] is True
    assert i["nodeAssociatePublicIpAddress"] is False
    assert i["privateSubnetIds"] == plan.outputs["vpc_node_subnet_ids"]
    assert "publicSubnetIds" not in i
    assert i["vpcId"] == plan.outputs["vpc_id"]
    assert i["accessEntries"] == {}
    # pulumi-eks's kube-proxy add-on, pinned for the cluster's version; vpc-cni is the Cluster
    # component's (tests/plans/test_eks_addons.py), with network policies enforced.
    overwrite = {"resolveConflictsOnCreate": "OVERWRITE", "resolveConflictsOnUpdate": "OVERWRITE"}
    assert i["useDefaultVpcCni"] is True and "vpcCniOptions" not in i
    (cni,) = [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert cni.inputs["addonVersion"] == MANAGED_ADDONS["vpc-cni"].versions[DEFAULT_VERSION]
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert i["kubeProxyAddonOptions"] == {
        "version": MANAGED_ADDONS["kube-proxy"].versions[DEFAULT_VERSION],
        **overwrite,
    }


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_secrets_are_envelope_encrypted_with_a_rotating_key(
    plans: dict[str, Plan], stack: str, protected: bool
) -> None:
    plan = plans[stack]
    key = plan.one(KEY, f"airflow-{stack}-secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.protect is protected
    assert plan.one(EKS).inputs["encryptionConfigKeyArn"] == plan.outputs["cluster_secrets_kms_key_arn"]
    assert plan.outputs["cluster_secrets_kms_key_arn"].endswith(f":key/{fake_id(KEY, key.name)}")
    alias = plan.one("aws:kms/alias:Alias", f"airflow-{stack}-secrets-key-alias")
    assert alias.inputs["name"] == f"alias/airflow-{stack}-eks-secrets"
    assert key.urn in alias.dependencies


def test_public_endpoint_limited_to_configured_cidrs_and_admin_access_entries() -> None:
    admin = "arn:aws:iam::123456789012:role/platform-admin"
    plan = plan_once(
        "dev",
        {
            "clusterPublicAccessCidrs": ["203.0.113.0/24", "198.51.100.7/32"],
            "clusterAdminRoleArns": [admin],
        },
    )
    i = plan.one(EKS).inputs
    assert i["endpointPublicAccess"] is True and i["endpointPrivateAccess"] is True
    assert i["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.7/32"]
    assert i["accessEntries"] == {
        "123456789012-platform-admin": {
            "principalArn": admin,
            "accessPolicies": {
                "cluster-admin": {"policyArn": CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}
            },
        }
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_kubeconfig_is_secret_in_the_provider_and_the_outputs(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == SECRET
    assert provider.inputs["enableServerSideApply"] == "true"
    assert "cluster_kubeconfig" in plan.secret_outputs
    assert plan.as_json()["outputs"]["cluster_kubeconfig"] == SECRET
    assert plan.outputs["cluster_oidc_provider_arn"].startswith("arn:aws:iam::")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_nodes_security_groups_wait_only_for_the_vpc(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    for group in ("nodes-sg", "db-clients-sg"):
        sg = plan.one("aws:ec2/securityGroup:SecurityGroup", f"airflow-{stack}-{group}")
        assert sg.inputs["vpcId"] == plan.outputs["vpc_id"]
        assert plan.one(EKS).urn not in plan.waits_for(sg.urn)
        assert sg.inputs.get("ingress", []) == [] and sg.inputs.get("egress", []) == []


def test_private_endpoint_opened_to_configured_networks_only(dev: Plan) -> None:
    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert [r for r in dev.of_type(rule) if r.inputs.get("fromPort") == 443] == []
    plan = plan_once("dev", {"clusterPrivateAccessCidrs": ["10.99.0.0/24", "172.16.8.0/22"]})
    rules = [r for r in plan.of_type(rule) if r.name.startswith("airflow-dev-api-from-")]
    assert sorted(r.inputs["cidrIpv4"] for r in rules) == ["10.99.0.0/24", "172.16.8.0/22"]
    for r in rules:
        assert (r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"]) == (443, 443, "tcp")
        assert r.inputs["securityGroupId"] == plan.outputs["cluster_security_group_id"]
    # Through the private endpoint the API answers only once the deployer is admitted: the
    # provider, which every Kubernetes object uses, waits for these rules.
    provider = plan.one("pulumi:providers:kubernetes")
    assert {r.urn for r in rules} <= set(provider.dependencies)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stacks_are_reachable_by_the_deployer(stack: str) -> None:
    """Either the public endpoint, limited to the deployer, or private access from its network."""
    config, region = resolve_stack_config(stack)
    cluster = load_settings(config, stack, region).cluster
    assert (cluster.endpoint_public_access and cluster.public_access_cidrs) or cluster.private_access_cidrs


def test_the_placeholder_deployer_cidr_is_a_warning(dev: Plan, prod: Plan) -> None:
    for plan in (dev, prod):
        assert plan.warnings[0].startswith("clusterPublicAccessCidrs: 203.0.113.10/32 is a documentation range")
    # prod's placeholder certificate is the other (docs/security.md, TLS on the load balancer).
    assert dev.warnings[1:] == []
    (certificate,) = prod.warnings[1:]
    assert certificate.startswith(
        "nlbCertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000 is a "
        "placeholder (account 123456789012 is AWS's documentation account)"
    )
    real = plan_once("dev", {"clusterPublicAccessCidrs": ["100.25.14.7/32"]})
    assert real.warnings == []
    certified = "arn:aws:acm:us-east-1:210987654321:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    real = plan_once("prod", {"clusterPublicAccessCidrs": ["100.25.14.7/32"], "nlbCertificateArn": certified})
    assert real.warnings == []


def test_reordering_or_shortening_the_admin_roles_moves_no_entry() -> None:
    roles = [f"arn:aws:iam::123456789012:role/{name}" for name in ("platform", "data-eng", "sre")]

    def entries(arns: list[str]) -> dict[str, str]:
        inputs = plan_once("dev", {"clusterAdminRoleArns": arns}).one(EKS).inputs
        return {key: entry["principalArn"] for key, entry in inputs["accessEntries"].items()}

    full = entries(roles)
    assert full == {"123456789012-platform": roles[0], "123456789012-data-eng": roles[1], "123456789012-sre": roles[2]}
    assert json.dumps(entries(list(reversed(roles))), sort_keys=True) == json.dumps(full, sort_keys=True)
    # Dropping the first role leaves every other entry under its key (by index, all would move).
    assert entries(roles[1:]) == {k: v for k, v in full.items() if v != roles[0]}


def test_addon_versions_follow_the_kubernetes_version_and_the_overrides() -> None:
    plan = plan_once("dev", {"kubernetesVersion": "1.34"})
    i = plan.one(EKS).inputs
    (cni,) = [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert cni.inputs["addonVersion"] == MANAGED_ADDONS["vpc-cni"].versions["1.34"]
    assert i["kubeProxyAddonOptions"]["version"] == MANAGED_ADDONS["kube-proxy"].versions["1.34"]
    assert MANAGED_ADDONS["kube-proxy"].versions["1.34"].startswith("v1.34.")
    pinned = plan_once("dev", {"eksAddonVersions": {"kube-proxy": "v1.33.3-eksbuild.6"}})
    assert pinned.one(EKS).inputs["kubeProxyAddonOptions"]["version"] == "v1.33.3-eksbuild.6"
