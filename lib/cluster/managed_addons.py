"""EKS managed add-ons: the catalog, one entry per add-on, the one place an add-on is declared.

An entry says what the add-on is (its EKS name), its version pinned per Kubernetes minor, who
creates it (pulumi-eks with the cluster, the stack once there are nodes, or ClusterTelemetry),
what it waits for, its IAM role (service accounts and AWS managed policy, IRSA), its configuration,
and the config key it comes only with. The program creates what the catalog says (program.py
`eks_addons`, components/cluster.py, components/cluster_telemetry.py), like terraform-aws-eks's
`cluster_addons` map or a cdk-eks-blueprints add-on: adding one is an entry here (docs/development.md).

Without pins, add-ons either never move (an EKS add-on created without a version keeps the one
it got) or move on any `pulumi up` (pulumi-eks picks the most recent build at deploy time for
vpc-cni and kube-proxy, v4.3 cluster.ts L764-797 and L1091-1112). Pinned here, they move when
`kubernetesVersion` does, and only then, in a reviewed change; `eksAddonVersions` overrides one.

Sources, by add-on (the accepted versions and their calendar: lib/cluster/versions.py):
- kube-proxy and CoreDNS: the EKS user guide's tables of the latest EKS add-on version per Kubernetes
  version, "Manage kube-proxy" (https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html)
  and "Manage CoreDNS" (https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html). 1.34 to
  1.36 read 2026-12 from the newest crawl of those pages found here, the user guide's ja_jp .md
  rendition (the version strings are the English page's; the English rendition read here stops at
  1.35). 1.32 and 1.33 are the versions read 2026-11 and kept: 1.33 is what live clusters run today
  (the newest table lists CoreDNS v1.12.4-eksbuild.18 for 1.33, a lower minor than the pinned
  v1.13.2-eksbuild.4 that EKS offered for 1.33 in 2026-11; EKS does not move an add-on down), and a
  1.32 or 1.33 stack is only on its way up (UPGRADING.md).
- vpc-cni v1.21.1-eksbuild.7 and aws-efs-csi-driver v3.3.0-eksbuild.1: as run on public clusters of
  1.30 to 1.36 (the user guide no longer lists them per version); `eksctl utils
  describe-addon-versions` output quoted in a public change of 2026-05 lists vpc-cni v1.21.1-eksbuild.7
  for 1.33. Not confirmed for 1.35 and 1.36 from here.
Not checked against `aws eks describe-addon-versions` from here: a version EKS does not offer fails
at create or update with InvalidParameterException naming it; `eksAddonVersions` overrides one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lib.observability.cloudwatch import AGENT_NAME, AGENT_NAMESPACE, AGENT_POLICY_ARN, addon_configuration

VPC_CNI = "vpc-cni"
KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
EFS_CSI_DRIVER = "aws-efs-csi-driver"
CLOUDWATCH_OBSERVABILITY = "amazon-cloudwatch-observability"
ADDON_NAMESPACE = "kube-system"
VERSION_PATTERN = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+\Z")
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The vpc-cni add-on's configuration: Kubernetes NetworkPolicies enforced (by the network policy
agent in the aws-node DaemonSet, VPC CNI 1.14 and later; the controller runs in the EKS control
plane). A string, as the add-on's configuration schema takes it."""
VPC_CNI_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
VPC_CNI_SERVICE_ACCOUNT = "aws-node"
"""aws-node, the VPC CNI's DaemonSet, assigns the pods' addresses (EC2 network interface calls): its
own role (IRSA), off the node role, as EKS Best Practices and the EKS user guide ("Amazon EKS node
IAM role": "we recommend that you attach the policy to a separate role used specifically for the
Amazon VPC CNI add-on") advise."""


class Installer(StrEnum):
    """Who creates an add-on's `aws.eks.Addon`."""

    CLUSTER = "pulumi-eks"
    """pulumi-eks, with the cluster (its `kubeProxyAddonOptions`): only the add-ons pulumi-eks
    manages itself (components/cluster.py maps each to its option)."""
    CLUSTER_NETWORK = "Cluster"
    """The Cluster component, as its child `EksAddon` `<cluster>-<resource>`, once the cluster's OIDC
    provider (its IRSA role's trust) exists and before any node group: a node turns Ready only once
    aws-node runs with its permissions (components/cluster.py, `Cluster.network_addons`)."""
    STACK = "stack"
    """The stack, as an `EksAddon` named `<stack name>-<resource>` (program.py `eks_addons`)."""
    CLUSTER_TELEMETRY = "ClusterTelemetry"
    """ClusterTelemetry, as its child `EksAddon` `<telemetry>-<resource>`, after its log groups."""


class Prerequisite(StrEnum):
    """What an add-on created by the stack waits for (its pods or its volumes need it)."""

    NODES = "nodes"
    """The node groups (an add-on with pods only turns ACTIVE once they can run)."""
    FILE_SYSTEM = "file system"
    """The shared file system's policy and a mount target in every zone (a mount needs them)."""


class Toggle(StrEnum):
    """A config key an add-on comes only with (config/settings.py says whether it is on)."""

    CLUSTER_METRICS = "clusterMetrics"


@dataclass(frozen=True)
class AddonRole:
    """The add-on's IAM role, assumable by its service accounts only (IRSA)."""

    service_accounts: tuple[str, ...]
    policy_arn: str
    """The AWS managed policy the role gets."""
    purpose: str
    """What the role is for: its description is `<purpose> of EKS cluster <name> (IRSA)`."""
    namespace: str = ADDON_NAMESPACE

    def description(self, cluster_name: str) -> str:
        return f"{self.purpose} of EKS cluster {cluster_name} (IRSA)"


@dataclass(frozen=True)
class ManagedAddon:
    """One EKS add-on of the catalog."""

    name: str
    """EKS add-on name (`coredns`), the key of `eksAddonVersions`."""
    versions: Mapping[str, str]
    """Kubernetes minor -> the add-on version pinned for it; every minor of lib/cluster/versions.py."""
    installer: Installer = Installer.STACK
    resource: str = ""
    """The resource name's last part (`efs-csi`: `airflow-dev-efs-csi`); empty: the add-on's name."""
    waits_for: frozenset[Prerequisite] = frozenset({Prerequisite.NODES})
    role: AddonRole | None = None
    configuration: Callable[[str], dict[str, Any]] | None = None
    """Cluster name -> the add-on's configuration values (its own JSON schema); None: its defaults."""
    only_with: Toggle | None = None
    """The config key the add-on comes only with; None: always."""
    preserve: bool = False
    """Keep the add-on's objects in the cluster if its `aws.eks.Addon` is ever deleted (vpc-cni: the
    nodes' pod network; pulumi-eks set it on its own copy)."""
    moved_from: str | None = None
    """The type of the component (named as the stack) the add-on's resources were created under
    before a move: they carry an alias to it, so a live stack updates them in place."""

    @property
    def resource_name(self) -> str:
        return self.resource or self.name

    @property
    def needs_nodes(self) -> bool:
        return Prerequisite.NODES in self.waits_for

    def configuration_of(self, cluster_name: str) -> dict[str, Any] | None:
        return self.configuration(cluster_name) if self.configuration else None


_PINNED_MINORS = ("1.32", "1.33", "1.34", "1.35", "1.36")
"""The minors an add-on built the same for all of them is pinned for (a minor added to
lib/cluster/versions.py is added here, after checking the build EKS offers for it)."""


COREDNS_LABELS = {"k8s-app": "kube-dns"}
"""The CoreDNS pods' label (EKS's CoreDNS Deployment, as upstream Kubernetes names it)."""


def coredns_configuration(_cluster: str) -> dict[str, Any]:
    """CoreDNS spread over zones strictly: EKS's default spreads its two replicas over nodes only
    (a preferred anti-affinity), so one zone may hold both. `topologySpreadConstraints` is a key of
    the CoreDNS add-on's configuration schema (`aws eks describe-addon-configuration`; not run from
    here: a key the pinned build refuses fails `pulumi up` with InvalidParameterException naming it)."""
    return {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "nodeTaintsPolicy": "Honor",
                "labelSelector": {"matchLabels": dict(COREDNS_LABELS)},
            }
        ]
    }


def _same_on(version: str, minors: Iterable[str] = _PINNED_MINORS) -> dict[str, str]:
    return dict.fromkeys(minors, version)


MANAGED_ADDONS: dict[str, ManagedAddon] = {
    a.name: a
    for a in (
        ManagedAddon(
            VPC_CNI,
            _same_on("v1.21.1-eksbuild.7"),
            Installer.CLUSTER_NETWORK,
            resource="vpc-cni",
            # The node groups wait for it, not it for them (components/cluster.py).
            waits_for=frozenset(),
            role=AddonRole((VPC_CNI_SERVICE_ACCOUNT,), VPC_CNI_POLICY_ARN, "VPC CNI (aws-node)"),
            configuration=lambda _cluster: dict(VPC_CNI_CONFIGURATION),
            preserve=True,
        ),
        ManagedAddon(
            KUBE_PROXY,
            {
                "1.32": "v1.32.13-eksbuild.5",
                "1.33": "v1.33.10-eksbuild.2",
                "1.34": "v1.34.6-eksbuild.13",
                "1.35": "v1.35.3-eksbuild.13",
                "1.36": "v1.36.0-eksbuild.14",
            },
            Installer.CLUSTER,
            waits_for=frozenset(),
        ),
        # pulumi-eks leaves CoreDNS self-managed without a default node group (v4.3 cluster.ts
        # L1175-1184): managed by the stack.
        ManagedAddon(
            COREDNS,
            {
                "1.32": "v1.11.4-eksbuild.33",
                "1.33": "v1.13.2-eksbuild.4",
                "1.34": "v1.13.2-eksbuild.11",
                "1.35": "v1.14.3-eksbuild.3",
                "1.36": "v1.14.3-eksbuild.3",
            },
            configuration=coredns_configuration,
        ),
        ManagedAddon(
            EFS_CSI_DRIVER,
            _same_on("v3.3.0-eksbuild.1"),
            resource="efs-csi",
            waits_for=frozenset({Prerequisite.NODES, Prerequisite.FILE_SYSTEM}),
            # No IAM role: the volumes are static (components/shared_storage.py: a PV per access
            # point, storage class "", Retain) and mounted with `tls`, not `iam`. Read in
            # aws-efs-csi-driver v3.3.0 (ebcf0985): the controller calls AWS only in CreateVolume and
            # DeleteVolume (pkg/driver/controller.go, access points of dynamic provisioning), which
            # the external provisioner never sends for a static PV; at start it reads instance
            # metadata only (pkg/cloud/cloud.go createCloud); the node plugin calls no AWS API
            # (pkg/driver/node.go). The managed AmazonEFSCSIDriverPolicy is for dynamic provisioning.
            moved_from="airflow:index:SharedStorage",  # created by SharedStorage until the reshape (UPGRADING.md)
        ),
        # Chart amazon-cloudwatch-observability 4.7.0 (2025-11), read for lib/observability/cloudwatch.py;
        # its EKS build name and its support of each minor are not confirmed from here.
        ManagedAddon(
            CLOUDWATCH_OBSERVABILITY,
            _same_on("v4.7.0-eksbuild.1"),
            Installer.CLUSTER_TELEMETRY,
            resource="cloudwatch",
            role=AddonRole((AGENT_NAME,), AGENT_POLICY_ARN, "CloudWatch agent and Fluent Bit", AGENT_NAMESPACE),
            configuration=addon_configuration,
            only_with=Toggle.CLUSTER_METRICS,
        ),
    )
}
"""EKS add-on name -> its entry, in the order the program creates them."""


def installed_by(installer: Installer) -> list[ManagedAddon]:
    """The catalog's add-ons that `installer` creates, in catalog order."""
    return [a for a in MANAGED_ADDONS.values() if a.installer is installer]


def addon_versions(kubernetes_version: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The version of every add-on for `kubernetes_version`, the user's `overrides` last."""
    unpinned = [a.name for a in MANAGED_ADDONS.values() if kubernetes_version not in a.versions]
    if unpinned:
        raise ValueError(f"no EKS add-on versions pinned for Kubernetes {kubernetes_version}: {', '.join(unpinned)}")
    return {**{a.name: a.versions[kubernetes_version] for a in MANAGED_ADDONS.values()}, **overrides}


def addons_on(toggles: Mapping[Toggle, bool]) -> list[str]:
    """The catalog's add-ons a stack runs: every one whose toggle, if it has one, is on."""
    return [a.name for a in MANAGED_ADDONS.values() if a.only_with is None or toggles.get(a.only_with, False)]
