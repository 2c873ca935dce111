"""IAM roles of the components: one helper, so every role and its attachments are made the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from lib.cluster.helm_addons import AddonChart
from lib.naming import child_name, with_name
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


def chart_role(
    parent: pulumi.Resource,
    name: str,
    chart: AddonChart,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    policy: pulumi.Input[str],
    policy_description: str,
    tags: Mapping[str, str],
) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
    """The IRSA role of a Helm chart's service account (`<name>-role`), with its own least-privilege
    policy (`<name>-policy`, the JSON `policy`) attached (`<name>-policy-attachment`), children of
    `parent`. The release waits for the attachment, so its pods start with their permissions."""
    role, _ = iam_role(
        parent,
        child_name(name, "role"),
        irsa_trust(oidc_provider_arn, oidc_issuer, chart.namespace, [chart.service_account]),
        tags,
        description=f"IRSA role of {chart.namespace}/{chart.service_account} ({chart.chart})",
    )
    document = aws.iam.Policy(
        child_name(name, "policy"),
        description=policy_description,
        policy=policy,
        tags=with_name(tags, child_name(name, "policy")),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachment = aws.iam.RolePolicyAttachment(
        child_name(name, "policy-attachment"),
        role=role.name,
        policy_arn=document.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return role, attachment
