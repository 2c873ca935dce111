"""IAM roles of the components: one helper, so every role and its attachments are made the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from lib.naming import with_name
from lib.security.iam_documents import irsa_trust_policy


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    namespace: str,
    service_accounts: Sequence[str],
) -> pulumi.Output[str]:
    """Trust policy (JSON) letting only these service accounts assume a role, through the cluster's
    OIDC provider (IAM roles for service accounts)."""
    return pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda v: json.dumps(irsa_trust_policy(v[0], v[1], namespace, list(service_accounts)))
    )


def iam_role(
    parent: pulumi.Resource,
    name: str,
    trust_policy: pulumi.Input[str],
    tags: Mapping[str, str],
    managed_policies: Mapping[str, str] | None = None,
    description: str | None = None,
    aliases: Sequence[pulumi.Alias] | None = None,
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """A role named `name`, children of `parent`, and an attachment `<name>-<key>` per managed
    policy; `aliases` for all of them when they moved from another parent."""
    child = pulumi.ResourceOptions(parent=parent, aliases=aliases)
    role = aws.iam.Role(
        name, description=description, assume_role_policy=trust_policy, tags=with_name(tags, name), opts=child
    )
    attachments = [
        aws.iam.RolePolicyAttachment(f"{name}-{key}", role=role.name, policy_arn=arn, opts=child)
        for key, arn in (managed_policies or {}).items()
    ]
    return role, attachments
