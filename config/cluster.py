"""Cluster settings: the Kubernetes version, who reaches the API and how, the node AMIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from config.checks import EKS_PUBLIC_CIDRS, Section, no_problem, role_arn, source_cidrs
from config.keys import as_tuple, enum_of, key
from lib.cluster.ami_releases import ami_release_problem
from lib.cluster.versions import ACCEPTED_VERSIONS, RETIRED_VERSIONS, SupportType
from lib.naming import access_entry_key

SUPPORTED_KUBERNETES_VERSIONS = ACCEPTED_VERSIONS


@dataclass(frozen=True)
class ClusterSettings(Section):
    SECTION: ClassVar[str] = "cluster"
    TITLE: ClassVar[str] = "Cluster"

    kubernetes_version: str = key(
        "kubernetesVersion",
        "1.36",
        "EKS Kubernetes version, 1.32 to 1.36 (lib/cluster/versions.py holds each one's EKS support "
        "calendar). A live cluster moves one minor at a time: check its version first "
        "(docs/operations.md, Upgrading; UPGRADING.md). The plan warns from 60 days before the version's "
        "standard support ends, naming the next one.",
    )
    endpoint_public_access: bool = key(
        "clusterEndpointPublicAccess",
        False,
        "Expose the Kubernetes API publicly, limited to clusterPublicAccessCidrs. The private endpoint is "
        "always on; with the public one off, clusterPrivateAccessCidrs must admit the machine that runs "
        "`pulumi up`.",
    )
    public_access_cidrs: tuple[str, ...] = key(
        "clusterPublicAccessCidrs",
        [],
        "CIDRs allowed to reach the public API endpoint: the egress of the machine that runs `pulumi up` "
        "(required when it is on); canonical IPv4 CIDRs, each once, at most 40 (EKS), together never all "
        "of IPv4 (never 0.0.0.0/0).",
        convert=as_tuple,
    )
    private_access_cidrs: tuple[str, ...] = key(
        "clusterPrivateAccessCidrs",
        [],
        "CIDRs inside your network (VPN, bastion, CI runners) allowed to reach the private API endpoint "
        "on 443; required when the public endpoint is off; canonical IPv4 CIDRs in 10/8, 172.16/12, "
        "192.168/16 or 100.64/10, at most 50.",
        convert=as_tuple,
    )
    admin_role_arns: tuple[str, ...] = key(
        "clusterAdminRoleArns",
        [],
        "IAM role ARNs granted cluster-admin through EKS access entries (keyed by role, so reordering the "
        "list moves nothing). Never the identity that runs the first `pulumi up`, which EKS makes admin "
        "already.",
        convert=as_tuple,
    )
    node_ami_release_version: str = key(
        "nodeAmiReleaseVersion",
        "",
        "EKS-optimized AMI release of every node group (for example 1.36.2-20260714), of the cluster's "
        "minor and released (lib/cluster/ami_releases.py, or newer than its last); empty takes the newest when a "
        "group is created, and a group keeps that release.",
    )
    upgrade_policy: SupportType = key(
        "clusterUpgradePolicy",
        "EXTENDED",
        "What EKS does when the version's standard support ends (EKS upgradePolicy.supportType): EXTENDED "
        "(EKS's default) keeps it and bills extended support ($0.60 instead of $0.10 a cluster-hour; "
        "`make cost` shows it); STANDARD has EKS upgrade the control plane instead (not the node groups "
        "or add-ons). EKS refuses STANDARD on a cluster already in extended support.",
        convert=enum_of(SupportType),
    )

    def __post_init__(self) -> None:
        if self.kubernetes_version not in SUPPORTED_KUBERNETES_VERSIONS:
            retired = RETIRED_VERSIONS.get(self.kubernetes_version)
            why = (
                f"; its EKS extended support ended {retired.isoformat()} and EKS has upgraded its clusters "
                "(check the live version: aws eks describe-cluster --name <cluster> --query cluster.version)"
                if retired
                else ""
            )
            raise self.invalid(
                "kubernetes_version",
                f"'{self.kubernetes_version}' is not one of: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}{why}",
            )
        self._check_endpoint()
        for arn in self.admin_role_arns:
            self.check("admin_role_arns", role_arn, arn)
        keys = [access_entry_key(arn) for arn in self.admin_role_arns]
        if len(set(keys)) != len(keys):
            raise self.invalid("admin_role_arns", f"{list(self.admin_role_arns)} lists a role twice")
        release = self.node_ami_release_version
        if release:
            self.check("node_ami_release_version", no_problem, ami_release_problem(self.kubernetes_version, release))

    def _check_endpoint(self) -> None:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise self.invalid(
                "public_access_cidrs", "is empty while clusterEndpointPublicAccess is true; list the CIDRs allowed"
            )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise self.invalid(
                "public_access_cidrs", "is set while clusterEndpointPublicAccess is false; it would be ignored"
            )
        self.check("public_access_cidrs", source_cidrs, self.public_access_cidrs, False, EKS_PUBLIC_CIDRS)
        self.check("private_access_cidrs", source_cidrs, self.private_access_cidrs, True)
        if not self.endpoint_public_access and not self.private_access_cidrs:
            # The machine running `pulumi up` creates Kubernetes objects right after the cluster:
            # with a private endpoint and nothing admitted to it, it could never reach the API.
            raise self.invalid(
                "private_access_cidrs",
                "is empty while clusterEndpointPublicAccess is false, so nothing could reach the Kubernetes API, "
                "not even `pulumi up`; list the network it runs from (VPN, bastion, CI runners routed to the VPC), "
                "or set clusterEndpointPublicAccess to true with clusterPublicAccessCidrs set to its egress CIDR",
            )
