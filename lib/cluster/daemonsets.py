"""The pods every node runs for the add-ons the program installs, and what they request.

A node's room for task pods is its allocatable less these (lib/cluster/capacity.py). Each EKS
managed add-on of the catalog (lib/cluster/managed_addons.py) is declared here: its DaemonSets
with their pods' requests (all containers, init containers by the larger of them and the sum, as
the scheduler counts them), read from the add-on's chart at the version the catalog pins, or none
(a Deployment only). The Helm add-ons (lib/cluster/helm_addons.py: the Load Balancer Controller and
the Cluster Autoscaler) have no DaemonSet template in their charts at the pinned versions (read, not
rendered here); the Airflow chart renders none (tests/plans/test_az_loss.py).

Sources, read 2026-12 from the projects' repositories at the pinned versions:
- vpc-cni v1.21.1: aws/amazon-vpc-cni-k8s tag v1.21.1, charts/aws-vpc-cni/values.yaml: `aws-node`
  requests cpu 25m; the network policy agent (`nodeAgent.resources`) and the init container
  (`init.resources`) request nothing. The EKS add-on build (-eksbuild.7) is generated from that
  chart; its manifest was not read from here.
- aws-efs-csi-driver v3.3.0: kubernetes-sigs/aws-efs-csi-driver tag v3.3.0, chart 4.3.0
  values.yaml: `node.resources`, `sidecars.nodeDriverRegistrar.resources` and
  `sidecars.livenessProbe.resources` are all `{}`: efs-csi-node requests nothing (it still takes a
  pod slot); tolerates every taint (`node.tolerations: [{operator: Exists}]`).
- amazon-cloudwatch-observability v4.7.0: aws-observability/helm-charts, chart 4.7.0 (commit
  add3abef, 2025-12-03) values.yaml: `agent.resources.requests` 250m / 128Mi (the agent runs as a
  DaemonSet, `agent.mode: daemonset`), `containerLogs.fluentBit.resources.requests` 50m / 25Mi; both
  tolerate every taint (root `tolerations: [{operator: Exists}]`). Its dcgm-exporter and
  neuron-monitor DaemonSets run only on GPU and Neuron instance types (their node affinity).
- kube-proxy: requests cpu 100m, as the DaemonSet EKS installs has carried it since 1.x (seen on
  live clusters; EKS publishes no chart for it, so not read from a source here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lib.cluster.managed_addons import (
    CLOUDWATCH_OBSERVABILITY,
    COREDNS,
    EFS_CSI_DRIVER,
    KUBE_PROXY,
    VPC_CNI,
)


@dataclass(frozen=True)
class NodeDaemonSet:
    """One DaemonSet's pod on every node: its requests."""

    name: str
    addon: str
    cpu_m: int
    memory_mi: int
    read_at: str
    """The add-on version the requests were read at."""


NODE_DAEMONSETS: dict[str, tuple[NodeDaemonSet, ...]] = {
    VPC_CNI: (NodeDaemonSet("aws-node", VPC_CNI, 25, 0, "v1.21.1"),),
    KUBE_PROXY: (NodeDaemonSet("kube-proxy", KUBE_PROXY, 100, 0, "EKS 1.32 to 1.36 builds"),),
    COREDNS: (),
    EFS_CSI_DRIVER: (NodeDaemonSet("efs-csi-node", EFS_CSI_DRIVER, 0, 0, "v3.3.0"),),
    CLOUDWATCH_OBSERVABILITY: (
        NodeDaemonSet("cloudwatch-agent", CLOUDWATCH_OBSERVABILITY, 250, 128, "v4.7.0"),
        NodeDaemonSet("fluent-bit", CLOUDWATCH_OBSERVABILITY, 50, 25, "v4.7.0"),
    ),
}
"""EKS add-on name -> the DaemonSets it runs on every (non-GPU) node; () for an add-on without one."""


def node_daemonsets(addons: Iterable[str], strict: bool = True) -> list[NodeDaemonSet]:
    """The DaemonSets the named add-ons run on every node; an add-on not declared here is an error
    (its pods would be missed in every node's fit). `strict=False` (the program sizing Airflow's
    pool) passes over one: adding an add-on to the catalog is one entry there, and
    tests/unit/test_daemonsets.py fails until it is declared here."""
    found: list[NodeDaemonSet] = []
    for addon in addons:
        if addon not in NODE_DAEMONSETS and not strict:
            continue
        if addon not in NODE_DAEMONSETS:
            raise ValueError(
                f"EKS add-on {addon} is not declared in lib/cluster/daemonsets.py NODE_DAEMONSETS: declare the "
                "DaemonSets it runs on every node (or none), with their requests at its pinned version"
            )
        found += NODE_DAEMONSETS[addon]
    return found


def totals(daemonsets: Iterable[NodeDaemonSet]) -> tuple[int, int, int]:
    """Pods, CPU (m) and memory (MiB) the DaemonSets take from each node."""
    listed = list(daemonsets)
    return len(listed), sum(d.cpu_m for d in listed), sum(d.memory_mi for d in listed)


def describe(daemonsets: Iterable[NodeDaemonSet]) -> str:
    return ", ".join(f"{d.name} {d.cpu_m}m/{d.memory_mi}Mi" for d in daemonsets)


@dataclass(frozen=True)
class AddonDeployment:
    """A Deployment an EKS managed add-on runs (not on every node): its size at the pinned version."""

    tier: str
    addon: str
    replicas: int
    cpu_m: int
    memory_mi: int
    serves: bool
    """Its loss stops something the stack serves (name resolution); False: what it manages keeps running."""
    read_at: str


ADDON_DEPLOYMENTS: dict[str, AddonDeployment] = {
    # The EKS user guide ("Scale CoreDNS Pods"): two replicas by default; requests 100m / 70Mi as the
    # upstream Kubernetes CoreDNS manifest sets them and EKS's Deployment carries (not read from its
    # add-on's manifest here).
    COREDNS: AddonDeployment("CoreDNS pods", COREDNS, 2, 100, 70, True, "EKS defaults"),
    # Chart 4.3.0 (driver v3.3.0): controller.replicaCount 2, every container's resources {}. Static
    # volumes need only the node DaemonSet to mount (the controller provisions access points).
    EFS_CSI_DRIVER: AddonDeployment("EFS CSI controller pods", EFS_CSI_DRIVER, 2, 0, 0, False, "v3.3.0"),
    # Chart 4.7.0: the operator (`manager`), replicaCount 1, requests 100m / 64Mi; the agent and
    # Fluent Bit DaemonSets it manages keep running without it.
    CLOUDWATCH_OBSERVABILITY: AddonDeployment(
        "CloudWatch operator pods", CLOUDWATCH_OBSERVABILITY, 1, 100, 64, False, "v4.7.0"
    ),
}
"""EKS add-on name -> the Deployment it runs besides its DaemonSets (vpc-cni and kube-proxy run none)."""
