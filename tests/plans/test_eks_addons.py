"""EKS managed add-ons: pinned per Kubernetes minor, in order with the node groups."""

from __future__ import annotations

import pytest

from config.cluster import SUPPORTED_KUBERNETES_VERSIONS
from lib.cluster.managed_addons import ADDON_NAMES, PINNED_VERSIONS, VERSION_PATTERN, addon_versions
from lib.cluster.versions import DEFAULT_VERSION
from offline.mocks import Plan, run_program

ADDON = "aws:eks/addon:Addon"
MNG = "eks:index:ManagedNodeGroup"


def addon(plan: Plan, name: str) -> dict:
    (found,) = [a for a in plan.of_type(ADDON) if a.inputs["addonName"] == name]
    return {"inputs": found.inputs, "dependencies": set(found.dependencies), "registration": found}


def test_every_supported_version_pins_every_addon() -> None:
    assert set(PINNED_VERSIONS) == set(SUPPORTED_KUBERNETES_VERSIONS)
    for minor, versions in PINNED_VERSIONS.items():
        assert set(versions) == set(ADDON_NAMES), minor
        assert all(VERSION_PATTERN.match(v) for v in versions.values()), minor
        assert versions["kube-proxy"].startswith(f"v{minor}."), minor  # kube-proxy follows the minor
    assert addon_versions("1.33", {"coredns": "v1.12.1-eksbuild.2"})["coredns"] == "v1.12.1-eksbuild.2"
    with pytest.raises(ValueError, match=r"Kubernetes 1\.20"):
        addon_versions("1.20", {})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_coredns_and_efs_csi_wait_for_every_node_group(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    groups = {g.urn for g in plan.of_type(MNG)}
    assert len(groups) == 3
    ours = ["aws-efs-csi-driver", "coredns"]
    if plan.outputs["cloudwatch_metrics_namespace"]:  # clusterMetrics: its agents need nodes too
        ours.insert(0, "amazon-cloudwatch-observability")
    for name in ours:
        found = addon(plan, name)
        assert found["inputs"]["addonVersion"] == PINNED_VERSIONS[DEFAULT_VERSION][name], name
        assert found["inputs"]["clusterName"] == plan.outputs["cluster_name"]
        assert found["inputs"]["resolveConflictsOnCreate"] == "OVERWRITE"  # takes over EKS's own copy
        assert groups <= found["dependencies"], name
    coredns = addon(plan, "coredns")["registration"]
    assert plan.by_urn(coredns.parent).type == "airflow:index:EksAddon"
    # pulumi-eks creates vpc-cni and kube-proxy with the cluster: none of them are ours twice.
    assert sorted(a.inputs["addonName"] for a in plan.of_type(ADDON)) == ours


def test_addons_move_with_the_kubernetes_version() -> None:
    plan = run_program("dev", config_overrides={"kubernetesVersion": "1.33"})
    assert addon(plan, "coredns")["inputs"]["addonVersion"] == PINNED_VERSIONS["1.33"]["coredns"]
    assert PINNED_VERSIONS["1.33"]["coredns"] != PINNED_VERSIONS[DEFAULT_VERSION]["coredns"]
