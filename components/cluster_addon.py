"""ClusterAddon: one Helm chart of the cluster's plumbing, with its own IAM role.

Creates (`airflow:index:ClusterAddon`), for one `lib.cluster.helm_addons.AddonChart`:
- an IAM role that only the chart's service account can assume, through the cluster's OIDC
  provider (IRSA: `<issuer>:sub` is `system:serviceaccount:<namespace>:<sa>` and `<issuer>:aud`
  is `sts.amazonaws.com`);
- a customer managed IAM policy with the add-on's least-privilege document, attached to it;
- a Helm v3 release of the chart at its pinned version, with the computed values and the role's
  annotation on the service account (each value with one owner), then the user's overrides merged
  last, their `tolerations` and extra volumes added to the program's (`lib/merge.py`). It waits for the
  policy attachment and for everything given in `depends_on` (the node groups: its pods need
  nodes, and the release waits for them to be ready).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.parts.helm import helm_release
from components.parts.iam_roles import chart_role
from components.parts.outputs import register_public_outputs
from lib.cluster.helm_addons import AddonChart, release_values
from lib.naming import child_name

RELEASE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class ClusterAddonArgs:
    chart: AddonChart
    """The chart, its pinned version, and where it reads its service account's annotations."""
    values: pulumi.Input[Mapping[str, Any]]
    """Computed values (may hold outputs, such as the VPC ID)."""
    overrides: Mapping[str, Any]
    """The user's values, merged last."""
    policy: Mapping[str, Any]
    """The IAM policy document of the add-on's role (least privilege)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the release waits for besides its role (the node groups its pods need)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every AWS resource."""

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
        role, attachment = chart_role(
            self,
            name,
            chart,
            args.oidc_provider_arn,
            args.oidc_issuer,
            json.dumps(args.policy),
            f"Least privilege of the {chart.chart} add-on",
            tags,
        )
        self.release = helm_release(
            self,
            child_name(name, "release"),
            release_name=chart.release_name,
            chart=chart.chart,
            version=chart.version,
            repository=chart.repository,
            namespace=chart.namespace,
            # The computed values and the role's annotation, then the user's overrides (lib/merge.py).
            values=pulumi.Output.all(pulumi.Output.from_input(args.values), role.arn).apply(
                lambda v: release_values(chart, v[0], v[1], args.overrides)
            ),
            provider=args.provider,
            timeout=RELEASE_TIMEOUT_SECONDS,
            depends_on=[attachment, *args.depends_on],
        )
        self.role_arn = role.arn
        self.release_name = chart.release_name
        self.namespace = chart.namespace
        self.chart_version = chart.version
        register_public_outputs(self)
