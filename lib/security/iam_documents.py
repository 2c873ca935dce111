"""IAM documents shared by the components."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_accounts: Sequence[str]
) -> dict[str, Any]:
    """Trust policy letting only `namespace`'s `service_accounts`, through the cluster's OIDC
    provider and for the STS audience, assume a role (IAM roles for service accounts)."""
    subjects = [f"system:serviceaccount:{namespace}:{sa}" for sa in service_accounts]
    if not subjects:
        raise ValueError("irsa_trust_policy needs at least one service account")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{oidc_issuer}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        f"{oidc_issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def efs_tls_only_policy(file_system_arn: str) -> dict[str, Any]:
    """File system policy: mount, write and root access through a mount target, never without TLS.

    Root access is granted because the access points act as gid 0; an allow statement is needed at
    all because a policy with only a deny replaces EFS's default allow and refuses every mount."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountThroughMountTargets",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "elasticfilesystem:ClientMount",
                    "elasticfilesystem:ClientWrite",
                    "elasticfilesystem:ClientRootAccess",
                ],
                "Resource": file_system_arn,
                "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
            },
            {
                "Sid": "DenyWithoutTls",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": file_system_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
