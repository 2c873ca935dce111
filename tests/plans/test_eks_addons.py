"""EKS add-ons: the plan holds exactly what the catalog (lib/cluster/managed_addons.py) says, pinned
per Kubernetes minor, in order with the node groups; a new entry needs no other edit."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from config.errors import ConfigError
from config.project import PROJECT_FILE
from lib.cluster.managed_addons import (
    CLOUDWATCH_OBSERVABILITY,
    KUBE_PROXY,
    MANAGED_ADDONS,
    VPC_CNI,
    AddonRole,
    Installer,
    ManagedAddon,
    Prerequisite,
    Toggle,
)
from lib.cluster.versions import ACCEPTED_VERSIONS, DEFAULT_VERSION
from offline.mocks import Plan, Registration, run_program
from tests.support.plans import plan_once
from tests.support.settings import settings_of

ADDON = "aws:eks/addon:Addon"
COMPONENT = "airflow:index:EksAddon"
MNG = "eks:index:ManagedNodeGroup"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
PULUMI_EKS_OPTION = {KUBE_PROXY: ("kubeProxyAddonOptions", "version")}
"""Where the eks:index:Cluster's inputs hold the version of each add-on pulumi-eks creates."""


def addon(plan: Plan, name: str) -> Registration:
    (found,) = [a for a in plan.of_type(ADDON) if a.inputs["addonName"] == name]
    return found


def children(plan: Plan, parent: Registration, type_: str) -> list[Registration]:
    return [r for r in plan.resources if r.parent == parent.urn and r.type == type_]


def assert_role(plan: Plan, component: Registration, found: Registration, role: AddonRole, cluster: str) -> None:
    (iam_role,) = children(plan, component, "aws:iam/role:Role")
    assert iam_role.name == f"{component.name}-role"
    assert iam_role.inputs["description"] == role.description(cluster)
    (statement,) = json.loads(iam_role.inputs["assumeRolePolicy"])["Statement"]
    (sub,) = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    subjects = [sub] if isinstance(sub, str) else sub
    assert subjects == [f"system:serviceaccount:{role.namespace}:{sa}" for sa in role.service_accounts]
    (attachment,) = children(plan, component, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == role.policy_arn
    assert found.inputs["serviceAccountRoleArn"].endswith(f":role/{iam_role.name}")


def assert_created_as_the_catalog_says(plan: Plan, expected: list[ManagedAddon], versions: dict[str, str]) -> None:
    """`expected`'s add-ons, and no other, as `aws.eks.Addon`s of `EksAddon`s, at `versions`."""
    cluster = plan.outputs["cluster_name"]
    groups = {g.urn for g in plan.of_type(MNG)}
    mounts = {m.urn for m in plan.of_type(MOUNT_TARGET)}
    assert len(groups) == 3 and mounts
    assert sorted(a.inputs["addonName"] for a in plan.of_type(ADDON)) == sorted(e.name for e in expected)
    assert len(plan.of_type(COMPONENT)) == len(expected)
    for entry in expected:
        found = addon(plan, entry.name)
        component = plan.by_urn(found.parent)
        if entry.installer is Installer.STACK:
            assert component.parent.endswith("::pulumi:pulumi:Stack::airflow-eks-" + plan.stack)
            assert component.name == f"{cluster}-{entry.resource_name}"
        elif entry.installer is Installer.CLUSTER_NETWORK:
            host = plan.by_urn(component.parent)
            assert host.type == "airflow:index:Cluster"
            assert component.name == f"{host.name}-{entry.resource_name}"
        else:
            host = plan.by_urn(component.parent)
            assert host.type == "airflow:index:ClusterTelemetry"
            assert component.name == f"{host.name}-{entry.resource_name}"
        assert (component.type, found.name) == (COMPONENT, component.name)
        assert found.inputs["addonVersion"] == versions[entry.name], entry.name
        assert found.inputs["clusterName"] == cluster
        assert found.inputs["resolveConflictsOnCreate"] == "OVERWRITE"  # takes over EKS's own copy
        assert found.inputs.get("preserve", False) is entry.preserve, entry.name
        configuration = entry.configuration_of(cluster)
        if configuration is None:
            assert "configurationValues" not in found.inputs
        else:
            assert json.loads(found.inputs["configurationValues"]) == configuration
        waits = set(found.dependencies)
        assert (groups <= waits) is entry.needs_nodes, entry.name
        assert (mounts <= waits) is (Prerequisite.FILE_SYSTEM in entry.waits_for), entry.name
        if entry.role is None:
            assert "serviceAccountRoleArn" not in found.inputs
            assert not children(plan, component, "aws:iam/role:Role")
        else:
            assert_role(plan, component, found, entry.role, cluster)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_holds_the_catalogs_addons_and_no_other(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    on = settings_of(stack).addon_toggles()
    assert on == {Toggle.CLUSTER_METRICS: stack == "prod"}  # dev runs without clusterMetrics
    expected = [
        e
        for e in MANAGED_ADDONS.values()
        if e.installer is not Installer.CLUSTER and (e.only_with is None or on[e.only_with])
    ]
    assert (CLOUDWATCH_OBSERVABILITY in [e.name for e in expected]) is (stack == "prod")
    pinned = {name: e.versions[DEFAULT_VERSION] for name, e in MANAGED_ADDONS.items()}
    assert_created_as_the_catalog_says(plan, expected, pinned)
    # pulumi-eks creates the others with the cluster, from the same entries.
    inputs = plan.one("eks:index:Cluster").inputs
    assert set(PULUMI_EKS_OPTION) == {e.name for e in MANAGED_ADDONS.values() if e.installer is Installer.CLUSTER}
    for name, (option, version_key) in PULUMI_EKS_OPTION.items():
        assert inputs[option][version_key] == pinned[name], name
        assert inputs[option].get("configurationValues") == MANAGED_ADDONS[name].configuration_of(
            plan.outputs["cluster_name"]
        )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_aws_node_has_its_own_role_before_any_node(plans: dict[str, Plan], stack: str) -> None:
    """pulumi-eks leaves vpc-cni to the Cluster component (its IRSA role needs the OIDC provider the
    eks:index:Cluster creates); every node group waits for the add-on, which waits for its role."""
    plan = plans[stack]
    inputs = plan.one("eks:index:Cluster").inputs
    assert inputs["useDefaultVpcCni"] is True and "vpcCniOptions" not in inputs
    cni = addon(plan, VPC_CNI)
    component = plan.by_urn(cni.parent)
    (role,) = children(plan, component, "aws:iam/role:Role")
    (attachment,) = children(plan, component, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert role.urn in cni.dependencies or attachment.urn in cni.dependencies
    assert attachment.urn in cni.dependencies
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    (sub,) = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert sub == "system:serviceaccount:kube-system:aws-node"
    groups = plan.of_type(MNG)
    assert len(groups) == 3 and all(cni.urn in g.dependencies for g in groups)
    # A live stack's pulumi-eks copy is this resource (updated in place, not created beside it).
    eks_name = plan.one("eks:index:Cluster").name
    assert cni.aliases == (
        f"urn:pulumi:{plan.stack}::airflow-eks::airflow:index:Cluster$eks:index:Cluster$eks:index:VpcCniAddon"
        f"$aws:eks/addon:Addon::{eks_name}-vpc-cni",
    )
    # The node role no longer holds the CNI policy: no attachment of it but aws-node's.
    cni_policies = [
        a for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "CNI" in a.inputs["policyArn"]
    ]
    assert cni_policies == [attachment]


def test_addons_move_with_the_kubernetes_version_and_the_overrides() -> None:
    override = {"coredns": "v1.12.1-eksbuild.2", "vpc-cni": "v1.20.0-eksbuild.1"}
    plan = plan_once("prod", {"kubernetesVersion": "1.33", "eksAddonVersions": override})
    versions = {name: e.versions["1.33"] for name, e in MANAGED_ADDONS.items()} | override
    assert versions["aws-efs-csi-driver"] == MANAGED_ADDONS["aws-efs-csi-driver"].versions["1.33"]
    expected = [e for e in MANAGED_ADDONS.values() if e.installer is not Installer.CLUSTER]
    assert_created_as_the_catalog_says(plan, expected, versions)
    assert addon(plan, VPC_CNI).inputs["addonVersion"] == "v1.20.0-eksbuild.1"
    assert MANAGED_ADDONS["coredns"].versions["1.33"] != MANAGED_ADDONS["coredns"].versions[DEFAULT_VERSION]


PROBE = ManagedAddon(
    "eks-pod-identity-agent",
    dict.fromkeys(ACCEPTED_VERSIONS, "v1.3.9-eksbuild.5"),
    role=AddonRole(("probe-sa",), "arn:aws:iam::aws:policy/ReadOnlyAccess", "A probe", namespace="probe"),
    configuration=lambda cluster: {"agent": {"cluster": cluster}},
)


@pytest.mark.parametrize("gated", [False, True])
def test_an_entry_added_to_the_catalog_is_created_with_no_other_edit(
    monkeypatch: pytest.MonkeyPatch, gated: bool
) -> None:
    entry = replace(PROBE, only_with=Toggle.CLUSTER_METRICS if gated else None)
    monkeypatch.setitem(MANAGED_ADDONS, entry.name, entry)
    plan = run_program("prod", config_overrides={"eksAddonVersions": {entry.name: "v1.4.0-eksbuild.1"}})
    expected = [e for e in MANAGED_ADDONS.values() if e.installer is not Installer.CLUSTER]
    versions = {name: e.versions[DEFAULT_VERSION] for name, e in MANAGED_ADDONS.items()}
    assert_created_as_the_catalog_says(plan, expected, versions | {entry.name: "v1.4.0-eksbuild.1"})
    assert addon(plan, entry.name).name == "airflow-prod-eks-pod-identity-agent"
    if gated:  # off with its toggle, and its override refused rather than ignored
        off = run_program("prod", config_overrides={"clusterMetrics": False})
        assert entry.name not in {a.inputs["addonName"] for a in off.of_type(ADDON)}
        with pytest.raises(ConfigError) as refused:
            settings_of("prod", clusterMetrics=False, eksAddonVersions={entry.name: "v1.4.0-eksbuild.1"})
        assert refused.value.key == f"eksAddonVersions.{entry.name}"
        assert "only when clusterMetrics is on" in str(refused.value)


def test_eks_addon_versions_refuses_an_unknown_addon_naming_the_accepted_ones() -> None:
    with pytest.raises(ConfigError) as refused:
        settings_of("dev", eksAddonVersions={"metrics-server": "v0.8.1-eksbuild.1"})
    assert refused.value.key == "eksAddonVersions.metrics-server"
    assert str(refused.value).endswith(f"accepted: {', '.join(MANAGED_ADDONS)}")
    # dev runs without clusterMetrics: a version for its add-on would be ignored.
    with pytest.raises(ConfigError, match="only when clusterMetrics is on") as ignored:
        settings_of("dev", eksAddonVersions={CLOUDWATCH_OBSERVABILITY: "v4.7.0-eksbuild.1"})
    assert ignored.value.key == f"eksAddonVersions.{CLOUDWATCH_OBSERVABILITY}"


def test_pulumi_yaml_names_the_catalogs_addons() -> None:
    """The key's description (and so docs/configuration.md) lists the catalog's names, in its order."""
    description: Any = yaml.safe_load(PROJECT_FILE.read_text())["config"]["eksAddonVersions"]["description"]
    assert f"EKS add-on name ({', '.join(MANAGED_ADDONS)}) -> version" in description
