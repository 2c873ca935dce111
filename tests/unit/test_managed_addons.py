"""The EKS add-on catalog (lib/cluster/managed_addons.py) and the node-group roles, as plain data."""

from __future__ import annotations

import pytest

from lib.cluster.managed_addons import (
    CLOUDWATCH_OBSERVABILITY,
    COREDNS,
    EFS_CSI_DRIVER,
    KUBE_PROXY,
    MANAGED_ADDONS,
    VERSION_PATTERN,
    VPC_CNI,
    Installer,
    Prerequisite,
    Toggle,
    addon_versions,
    installed_by,
)
from lib.cluster.node_groups import REQUIRED_ROLES, NodeGroupRole
from lib.cluster.versions import ACCEPTED_VERSIONS


def test_the_catalog_holds_the_five_addons_in_creation_order() -> None:
    assert list(MANAGED_ADDONS) == [VPC_CNI, KUBE_PROXY, COREDNS, EFS_CSI_DRIVER, CLOUDWATCH_OBSERVABILITY]
    assert all(name == entry.name for name, entry in MANAGED_ADDONS.items())
    assert [a.name for a in installed_by(Installer.CLUSTER)] == [KUBE_PROXY]
    assert [a.name for a in installed_by(Installer.CLUSTER_NETWORK)] == [VPC_CNI]
    assert [a.name for a in installed_by(Installer.STACK)] == [COREDNS, EFS_CSI_DRIVER]
    assert [a.name for a in installed_by(Installer.CLUSTER_TELEMETRY)] == [CLOUDWATCH_OBSERVABILITY]


@pytest.mark.parametrize("name", list(MANAGED_ADDONS))
def test_every_entry_pins_every_accepted_minor(name: str) -> None:
    entry = MANAGED_ADDONS[name]
    assert list(entry.versions) == list(ACCEPTED_VERSIONS)
    for minor, version in entry.versions.items():
        assert VERSION_PATTERN.match(version), (minor, version)


def test_kube_proxy_follows_the_minor_and_coredns_never_moves_down() -> None:
    for minor in ACCEPTED_VERSIONS:
        assert MANAGED_ADDONS[KUBE_PROXY].versions[minor].startswith(f"v{minor}."), minor
    coredns = [MANAGED_ADDONS[COREDNS].versions[m] for m in ACCEPTED_VERSIONS]
    numbers = [tuple(int(p) for p in v[1:].split("-")[0].split(".")) for v in coredns]
    assert numbers == sorted(numbers)


def test_addon_versions_are_the_pins_with_the_overrides_last() -> None:
    pinned = addon_versions("1.33", {})
    assert pinned == {a.name: a.versions["1.33"] for a in MANAGED_ADDONS.values()}
    assert pinned[COREDNS] == "v1.13.2-eksbuild.4"
    assert addon_versions("1.33", {COREDNS: "v1.12.1-eksbuild.2"}) == {**pinned, COREDNS: "v1.12.1-eksbuild.2"}
    with pytest.raises(ValueError, match=r"Kubernetes 1\.20: vpc-cni, kube-proxy, coredns"):
        addon_versions("1.20", {})


def test_what_each_entry_waits_for_and_needs() -> None:
    # pulumi-eks creates kube-proxy with the cluster; the nodes wait for vpc-cni, not it for them.
    before_nodes = (Installer.CLUSTER, Installer.CLUSTER_NETWORK)
    assert all(not a.waits_for and not a.needs_nodes for a in MANAGED_ADDONS.values() if a.installer in before_nodes)
    assert all(a.needs_nodes for a in MANAGED_ADDONS.values() if a.installer not in before_nodes)
    assert MANAGED_ADDONS[EFS_CSI_DRIVER].waits_for == {Prerequisite.NODES, Prerequisite.FILE_SYSTEM}
    assert MANAGED_ADDONS[COREDNS].waits_for == {Prerequisite.NODES}
    assert [a.name for a in MANAGED_ADDONS.values() if a.only_with] == [CLOUDWATCH_OBSERVABILITY]
    assert MANAGED_ADDONS[CLOUDWATCH_OBSERVABILITY].only_with is Toggle.CLUSTER_METRICS


def test_roles_configuration_and_resource_names() -> None:
    cni, cloudwatch = MANAGED_ADDONS[VPC_CNI].role, MANAGED_ADDONS[CLOUDWATCH_OBSERVABILITY].role
    assert [a.name for a in MANAGED_ADDONS.values() if a.role] == [VPC_CNI, CLOUDWATCH_OBSERVABILITY]
    assert cni is not None and cloudwatch is not None
    assert (cni.namespace, cni.service_accounts) == ("kube-system", ("aws-node",))
    assert cni.policy_arn == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert cni.description("c1") == "VPC CNI (aws-node) of EKS cluster c1 (IRSA)"
    # Static volumes mounted with `tls`: neither the EFS CSI controller nor its node plugin calls AWS.
    assert MANAGED_ADDONS[EFS_CSI_DRIVER].role is None
    assert [a.name for a in MANAGED_ADDONS.values() if a.preserve] == [VPC_CNI]
    assert (cloudwatch.namespace, cloudwatch.service_accounts) == ("amazon-cloudwatch", ("cloudwatch-agent",))
    assert cloudwatch.policy_arn == "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
    assert MANAGED_ADDONS[VPC_CNI].configuration_of("c1") == {"enableNetworkPolicy": "true"}
    config = MANAGED_ADDONS[CLOUDWATCH_OBSERVABILITY].configuration_of("c1")
    assert config is not None and config["agent"]["config"]["metrics"]["namespace"] == "Airflow/c1"
    assert [a.name for a in MANAGED_ADDONS.values() if a.configuration] == [VPC_CNI, COREDNS, CLOUDWATCH_OBSERVABILITY]
    # CoreDNS spread over zones strictly (reports/az_loss.py: EKS's default spreads it over nodes only).
    assert MANAGED_ADDONS[COREDNS].configuration_of("c1") == {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "nodeTaintsPolicy": "Honor",
                "labelSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ]
    }
    names = {a.name: a.resource_name for a in MANAGED_ADDONS.values() if a.installer is not Installer.CLUSTER}
    assert names == {
        VPC_CNI: "vpc-cni",
        COREDNS: "coredns",
        EFS_CSI_DRIVER: "efs-csi",
        CLOUDWATCH_OBSERVABILITY: "cloudwatch",
    }
    assert [a.moved_from for a in MANAGED_ADDONS.values() if a.moved_from] == ["airflow:index:SharedStorage"]


def test_node_group_roles_are_the_user_facing_group_names() -> None:
    assert REQUIRED_ROLES == (NodeGroupRole.SYSTEM, NodeGroupRole.AIRFLOW, NodeGroupRole.WORKERS)
    assert [str(r) for r in REQUIRED_ROLES] == ["system", "airflow", "workers"]
