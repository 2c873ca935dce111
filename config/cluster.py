"""Cluster settings: the Kubernetes version, who reaches the API and how, the node AMIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from config.checks import EKS_PUBLIC_CIDRS, ROLE_ARN, Section, matches, source_cidrs
from lib.cluster.versions import ACCEPTED_VERSIONS, EKS_VERSIONS, RETIRED_VERSIONS, SupportType
from lib.naming import access_entry_key

SUPPORTED_KUBERNETES_VERSIONS = ACCEPTED_VERSIONS


@dataclass(frozen=True)
class ClusterSettings(Section):
    SECTION: ClassVar[str] = "cluster"

    kubernetes_version: str
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    private_access_cidrs: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    node_ami_release_version: str
    """EKS AMI release of every node group (`1.36.2-20260714`); empty: the newest at creation."""
    upgrade_policy: SupportType
    """What EKS does at the end of the version's standard support (`upgradePolicy.supportType`)."""

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
            self.check(
                "admin_role_arns", matches, ROLE_ARN, arn, "an IAM role ARN (arn:aws:iam::123456789012:role/name)"
            )
        keys = [access_entry_key(arn) for arn in self.admin_role_arns]
        if len(set(keys)) != len(keys):
            raise self.invalid("admin_role_arns", f"{list(self.admin_role_arns)} lists a role twice")
        release = self.node_ami_release_version
        if release and not re.fullmatch(rf"{re.escape(self.kubernetes_version)}\.[0-9]+-[0-9]{{8}}", release):
            raise self.invalid(
                "node_ami_release_version",
                f"'{release}' is not an EKS AMI release of Kubernetes {self.kubernetes_version} "
                f"({EKS_VERSIONS[self.kubernetes_version].ami_release}, say); empty takes the newest when a node "
                "group is created",
            )

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
