"""ClusterAddon: one Helm chart of the cluster's plumbing, with its own IAM role.

Creates (`airflow:index:ClusterAddon`), for one `lib.addons.AddonChart`:
- an IAM role that only the chart's service account can assume, through the cluster's OIDC
  provider (IRSA: `<issuer>:sub` is `system:serviceaccount:<namespace>:<sa>` and `<issuer>:aud`
  is `sts.amazonaws.com`);
- a customer managed IAM policy with the add-on's least-privilege document, attached to it;
- a Helm v3 release of the chart at its pinned version, with the computed values, the role's
  annotation on the service account, then the user's overrides merged last. It waits for the
  policy attachment and for everything given in `depends_on` (the node groups: its pods need
  nodes, and the release waits for them to be ready).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from lib.addons import AddonChart, irsa_values
from lib.iam import irsa_trust_policy
from lib.merge import deep_merge
from lib.naming import child_name, with_name

RELEASE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class ClusterAddonArgs:
    chart: AddonChart
    values: pulumi.Input[Mapping[str, Any]]
    """Computed values (may hold outputs, such as the VPC ID)."""
    overrides: Mapping[str, Any]
    """The user's values, merged last."""
    policy: Mapping[str, Any]
    """The IAM policy document of the add-on's role."""
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    provider: k8s.Provider
    depends_on: Sequence[pulumi.Resource] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.chart.version:
            raise ValueError(f"ClusterAddonArgs: chart {self.chart.chart} has no pinned version")
        if not self.policy.get("Statement"):
            raise ValueError(f"ClusterAddonArgs: the IAM policy of {self.chart.chart} has no statement")


class ClusterAddon(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    """ARN of the add-on's IAM role."""
    release: k8s.helm.v3.Release
    """The Helm release (depend on it to wait for the add-on's pods and webhooks)."""
    release_name: str
    """Helm release name."""
    namespace: str
    """Namespace of the release."""
    chart_version: str
    """The pinned chart version."""

    def __init__(self, name: str, args: ClusterAddonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:ClusterAddon", name, None, opts)
        chart, tags = args.chart, args.tags
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            child_name(name, "role"),
            description=f"IRSA role of {args.chart.namespace}/{args.chart.service_account} ({chart.chart})",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda v: json.dumps(irsa_trust_policy(v[0], v[1], chart.namespace, [chart.service_account]))
            ),
            tags=with_name(tags, child_name(name, "role")),
            opts=child,
        )
        policy = aws.iam.Policy(
            child_name(name, "policy"),
            description=f"Least privilege of the {chart.chart} add-on",
            policy=json.dumps(args.policy),
            tags=with_name(tags, child_name(name, "policy")),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            child_name(name, "policy-attachment"), role=role.name, policy_arn=policy.arn, opts=child
        )

        values = pulumi.Output.all(pulumi.Output.from_input(args.values), role.arn).apply(
            lambda v: deep_merge(deep_merge(v[0], irsa_values(chart, v[1])), args.overrides)
        )
        self.release = k8s.helm.v3.Release(
            child_name(name, "release"),
            name=chart.release_name,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=chart.namespace,
            create_namespace=False,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
            skip_await=False,
            timeout=RELEASE_TIMEOUT_SECONDS,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[attachment, *args.depends_on]),
        )

        self.role_arn = role.arn
        self.release_name = chart.release_name
        self.namespace = chart.namespace
        self.chart_version = chart.version
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "releaseName": self.release_name,
                "namespace": self.namespace,
                "chartVersion": self.chart_version,
            }
        )
