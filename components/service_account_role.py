"""ServiceAccountRole: an IAM role for the pods of one Kubernetes service account (IRSA).

Creates (`airflow:index:ServiceAccountRole`):
- an IAM role that only `system:serviceaccount:<namespace>:<service account>` can assume,
  through the cluster's OIDC provider and for the STS audience, with the managed policies given
  (none by default: the task pods' role starts empty, and teams attach their own policies to it
  from their stacks, by the exported name). While the stack sleeps the role stays (with what
  teams attached to it) under a trust policy no one can use: IAM refuses to delete a role with
  policies attached, and waking gives it back its IRSA trust.

The service account itself is not created here: it carries the role's ARN in its
`eks.amazonaws.com/role-arn` annotation where it is made (the Airflow chart makes the task
pods' one). IRSA rather than EKS Pod Identity: the cluster already has the OIDC provider every
add-on role uses, and Pod Identity would add an agent DaemonSet that must be running on a
freshly scaled-up worker node before a task's first AWS call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.parts.iam_roles import iam_role, irsa_trust
from components.parts.outputs import register_public_outputs
from lib.naming import child_name
from lib.security.iam_documents import nobody_trust_policy


@dataclass(frozen=True)
class ServiceAccountRoleArgs:
    namespace: str
    """Namespace of the service account."""
    service_account: str
    """Name of the service account that assumes the role."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    description: str = ""
    """Description of the role."""
    managed_policies: Mapping[str, str] = field(default_factory=dict)
    """Key -> ARN of each managed policy to attach (none by default)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the role."""
    asleep: bool = False
    """The stack sleeps (no cluster, no OIDC provider): the role stays, with the policies attached
    to it, under a trust policy no one can use (`lib.security.iam_documents.nobody_trust_policy`)."""

    def __post_init__(self) -> None:
        if not self.namespace or not self.service_account:
            raise ValueError("ServiceAccountRoleArgs: namespace and service_account are required")


class ServiceAccountRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """ARN of the role (the service account's `eks.amazonaws.com/role-arn` annotation)."""
    role_name: pulumi.Output[str]
    """Name of the role, to attach policies to."""
    namespace: str
    """Namespace of the service account."""
    service_account: str
    """The service account that assumes the role."""

    def __init__(self, name: str, args: ServiceAccountRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:ServiceAccountRole", name, None, opts)
        role, _ = iam_role(
            self,
            child_name(name, "role"),
            (
                json.dumps(nobody_trust_policy())
                if args.asleep
                else irsa_trust(args.oidc_provider_arn, args.oidc_issuer, args.namespace, [args.service_account])
            ),
            args.tags,
            managed_policies=args.managed_policies,
            description=args.description or f"Pods of {args.namespace}/{args.service_account} (IRSA)",
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.namespace = args.namespace
        self.service_account = args.service_account
        register_public_outputs(self)
