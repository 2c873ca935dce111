"""EKS managed add-ons: the version of each, pinned per Kubernetes minor.

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
    # Chart amazon-cloudwatch-observability 4.7.0 (2025-11), read for lib/observability/cloudwatch.py; its EKS
    # build name and its support of each minor are not confirmed from here.
    CLOUDWATCH_OBSERVABILITY: "v4.7.0-eksbuild.1",
}
PINNED_VERSIONS: dict[str, dict[str, str]] = {
    "1.32": {**_SHARED, KUBE_PROXY: "v1.32.13-eksbuild.5", COREDNS: "v1.11.4-eksbuild.33"},
    "1.33": {**_SHARED, KUBE_PROXY: "v1.33.10-eksbuild.2", COREDNS: "v1.13.2-eksbuild.4"},
    "1.34": {**_SHARED, KUBE_PROXY: "v1.34.6-eksbuild.13", COREDNS: "v1.13.2-eksbuild.11"},
    "1.35": {**_SHARED, KUBE_PROXY: "v1.35.3-eksbuild.13", COREDNS: "v1.14.3-eksbuild.3"},
    "1.36": {**_SHARED, KUBE_PROXY: "v1.36.0-eksbuild.14", COREDNS: "v1.14.3-eksbuild.3"},
}


def addon_versions(kubernetes_version: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The version of every add-on for `kubernetes_version`, the user's `overrides` last."""
    if kubernetes_version not in PINNED_VERSIONS:
        raise ValueError(f"no EKS add-on versions pinned for Kubernetes {kubernetes_version}")
    return {**PINNED_VERSIONS[kubernetes_version], **overrides}
