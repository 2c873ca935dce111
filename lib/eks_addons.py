"""EKS managed add-ons: the version of each, pinned per Kubernetes minor.

Without pins, add-ons either never move (an EKS add-on created without a version keeps the one
it got) or move on any `pulumi up` (pulumi-eks picks the most recent build at deploy time for
vpc-cni and kube-proxy, v4.3 cluster.ts L764-797 and L1091-1112). Pinned here, they move when
`kubernetesVersion` does, and only then, in a reviewed change; `eksAddonVersions` overrides one.

Sources (read 2026-11): the EKS user guide's version tables, "Manage kube-proxy"
(https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html) and "Manage
CoreDNS" (https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html); vpc-cni
v1.21.1-eksbuild.7 and aws-efs-csi-driver v3.3.0-eksbuild.1 as run on public clusters of 1.30
to 1.36 (the user guide no longer lists them per version). Not checked against
`aws eks describe-addon-versions` from here: a version EKS does not offer fails at create
with InvalidParameterException naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VPC_CNI = "vpc-cni"
KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
EFS_CSI_DRIVER = "aws-efs-csi-driver"
CLOUDWATCH_OBSERVABILITY = "amazon-cloudwatch-observability"
ADDON_NAMES = (VPC_CNI, KUBE_PROXY, COREDNS, EFS_CSI_DRIVER, CLOUDWATCH_OBSERVABILITY)
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The vpc-cni add-on's configuration: Kubernetes NetworkPolicies enforced (by the network policy
agent in the aws-node DaemonSet, VPC CNI 1.14 and later; the controller runs in the EKS control
plane). A string, as the add-on's configuration schema takes it."""
VERSION_PATTERN = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+\Z")

_SHARED = {
    VPC_CNI: "v1.21.1-eksbuild.7",
    EFS_CSI_DRIVER: "v3.3.0-eksbuild.1",
    # Chart amazon-cloudwatch-observability 4.7.0 (2025-11), read for lib/telemetry.py; its EKS
    # build name and its support of each minor are not confirmed from here.
    CLOUDWATCH_OBSERVABILITY: "v4.7.0-eksbuild.1",
}
PINNED_VERSIONS: dict[str, dict[str, str]] = {
    "1.31": {**_SHARED, KUBE_PROXY: "v1.31.14-eksbuild.9", COREDNS: "v1.11.4-eksbuild.33"},
    "1.32": {**_SHARED, KUBE_PROXY: "v1.32.13-eksbuild.5", COREDNS: "v1.11.4-eksbuild.33"},
    "1.33": {**_SHARED, KUBE_PROXY: "v1.33.10-eksbuild.2", COREDNS: "v1.13.2-eksbuild.4"},
    "1.34": {**_SHARED, KUBE_PROXY: "v1.34.6-eksbuild.2", COREDNS: "v1.13.2-eksbuild.4"},
}


def addon_versions(kubernetes_version: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The version of every add-on for `kubernetes_version`, the user's `overrides` last."""
    if kubernetes_version not in PINNED_VERSIONS:
        raise ValueError(f"no EKS add-on versions pinned for Kubernetes {kubernetes_version}")
    return {**PINNED_VERSIONS[kubernetes_version], **overrides}
