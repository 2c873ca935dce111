"""The add-ons' pods every node runs (lib/cluster/daemonsets.py) and the kubelet's reservations of
the EKS AL2023 AMIs, as the capacity model counts them."""

from __future__ import annotations

import pytest

from lib.cluster.capacity import Limit, Shape, next_limit, reserved_cpu_m, reserved_memory_mi
from lib.cluster.daemonsets import ADDON_DEPLOYMENTS, NODE_DAEMONSETS, node_daemonsets, totals
from lib.cluster.managed_addons import (
    CLOUDWATCH_OBSERVABILITY,
    EFS_CSI_DRIVER,
    KUBE_PROXY,
    MANAGED_ADDONS,
    VPC_CNI,
    Toggle,
    addons_on,
)


def test_every_managed_addon_declares_what_it_runs_on_every_node() -> None:
    """A new add-on in the catalog fails here until its DaemonSets (or none) are declared."""
    assert set(NODE_DAEMONSETS) == set(MANAGED_ADDONS)
    assert set(ADDON_DEPLOYMENTS) <= set(MANAGED_ADDONS)


@pytest.mark.parametrize("addon", [VPC_CNI, EFS_CSI_DRIVER, CLOUDWATCH_OBSERVABILITY])
def test_the_requests_were_read_at_the_pinned_version(addon: str) -> None:
    """A pin that moves fails here until the requests are read again at the new version."""
    read = {d.read_at for d in NODE_DAEMONSETS[addon]}
    pinned = {v.split("-eksbuild")[0] for v in MANAGED_ADDONS[addon].versions.values()}
    assert pinned == read


def test_the_daemonsets_of_a_stack_with_and_without_cluster_metrics() -> None:
    with_metrics = node_daemonsets(addons_on({Toggle.CLUSTER_METRICS: True}))
    assert [d.name for d in with_metrics] == [
        "aws-node",
        "kube-proxy",
        "efs-csi-node",
        "cloudwatch-agent",
        "fluent-bit",
    ]
    assert totals(with_metrics) == (5, 425, 153)
    assert totals(node_daemonsets(addons_on({Toggle.CLUSTER_METRICS: False}))) == (3, 125, 0)
    assert KUBE_PROXY in addons_on({})


def test_an_undeclared_addon_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"EKS add-on metrics-server is not declared in lib/cluster/daemonsets\.py"):
        node_daemonsets([VPC_CNI, "metrics-server"])


@pytest.mark.parametrize(
    ("vcpu", "reserved"),
    # nodeadm getCPUMillicoresToReserve: 6% of the first core, 1% of the second, 0.5% of the next
    # two, 0.25% above four, each range rounded down.
    [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (32, 150), (48, 190), (96, 310)],
)
def test_kube_reserved_cpu_as_nodeadm_computes_it(vcpu: int, reserved: int) -> None:
    assert reserved_cpu_m(vcpu) == reserved


def test_kube_reserved_memory_follows_max_pods_of_the_vpc_cni() -> None:
    m7g_2xlarge = Shape(vcpu=8, memory_gib=32, enis=4, ipv4_per_eni=15)  # nodeadm instance-info.jsonl
    t4g_medium = Shape(vcpu=2, memory_gib=4, enis=3, ipv4_per_eni=6)
    assert (m7g_2xlarge.max_pods, reserved_memory_mi(m7g_2xlarge.max_pods)) == (58, 11 * 58 + 255)
    assert (t4g_medium.max_pods, reserved_memory_mi(t4g_medium.max_pods)) == (17, 442)


def test_the_next_limit_is_the_second_smallest() -> None:
    limits = [Limit("a", 9, ""), Limit("b", 3, ""), Limit("c", 5, "")]
    assert next_limit(limits) == Limit("c", 5, "")
    assert next_limit([Limit("b", 3, "")]) is None
