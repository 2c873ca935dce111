"""ClusterTelemetry: the cluster's metrics and container logs in CloudWatch.

Creates (`airflow:index:ClusterTelemetry`):
- a KMS key (yearly rotation) that CloudWatch Logs may use for this cluster's Container Insights
  log groups only, and those log groups (`application`, `dataplane`, `host`, `performance`) with
  a retention, created before the add-on so that its agents never create them without one;
- the `amazon-cloudwatch-observability` EKS add-on (an `EksAddon`) with an IRSA role holding
  `CloudWatchAgentServerPolicy`: Container Insights with enhanced observability, a StatsD
  listener publishing Airflow's metrics to `metrics_namespace`, and container logs through
  Fluent Bit (`lib/observability/cloudwatch.py` has the configuration and what was read to write it).
Asleep (`asleep`), only the key and the log groups, under the same names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.eks_addon import EksAddon, EksAddonArgs
from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from lib.cluster.managed_addons import CLOUDWATCH_OBSERVABILITY, MANAGED_ADDONS
from lib.naming import child_name, with_name
from lib.observability.cloudwatch import (
    LOG_RETENTION_DAYS,
    STATSD_HOST,
    STATSD_PORT,
    container_log_group_prefix,
    container_log_groups,
    metrics_namespace,
)
from lib.security.iam_documents import logs_key_policy


@dataclass(frozen=True)
class ClusterTelemetryArgs:
    cluster_name: str
    """The EKS cluster."""
    region: str
    """Its region (the key policy names CloudWatch Logs there)."""
    account_id: pulumi.Input[str]
    """Its account."""
    addon_version: str
    """Version of the add-on (pinned per Kubernetes minor, `lib/cluster/managed_addons.py`)."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider."""
    oidc_issuer: pulumi.Input[str]
    """Issuer host and path, without https://."""
    log_retention_days: int = 30
    """Retention of the container and performance log groups."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the add-on's pods need first (the node groups)."""
    protect: bool = True
    """Pulumi `protect` on the logs' key."""
    asleep: bool = False
    """The stack sleeps: the key and the log groups (what holds data) stay, no add-on or role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"ClusterTelemetryArgs.log_retention_days {self.log_retention_days} is not one of {LOG_RETENTION_DAYS}"
            )


class ClusterTelemetry(pulumi.ComponentResource):
    metrics_namespace: str
    """CloudWatch namespace of Airflow's StatsD metrics."""
    statsd_host: str
    """Where pods send StatsD (the node-local agent, through its Service)."""
    statsd_port: int
    """Its UDP port."""
    log_group_names: dict[str, str]
    """Kind (`application`, ...) -> log group name."""
    logs_kms_key_arn: pulumi.Output[str]
    """The log groups' key."""
    role_arn: pulumi.Output[str] | None
    """The agent's IAM role."""
    addon: EksAddon | None
    """The add-on (depend on it for the StatsD listener); None asleep."""

    def __init__(self, name: str, args: ClusterTelemetryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:ClusterTelemetry", name, None, opts)
        groups = container_log_groups(args.cluster_name)
        prefix = container_log_group_prefix(args.cluster_name)
        key = encryption_key(
            self,
            child_name(name, "logs-key"),
            f"{name}-logs",
            f"Container Insights logs of EKS cluster {args.cluster_name}",
            args.protect,
            args.tags,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda a: json.dumps(logs_key_policy(a, args.region, prefix))
            ),
        )
        log_groups = [
            aws.cloudwatch.LogGroup(
                child_name(name, kind),
                name=group,
                retention_in_days=args.log_retention_days,
                kms_key_id=key.arn,
                tags=with_name(args.tags, group),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for kind, group in groups.items()
        ]
        self.addon = None
        if not args.asleep:
            # Its role and configuration are the catalog's entry (lib/cluster/managed_addons.py).
            entry = MANAGED_ADDONS[CLOUDWATCH_OBSERVABILITY]
            self.addon = EksAddon(
                child_name(name, entry.resource_name),
                EksAddonArgs.of(
                    entry,
                    args.addon_version,
                    args.cluster_name,
                    args.oidc_provider_arn,
                    args.oidc_issuer,
                    depends_on=[*args.depends_on, *log_groups],
                    tags=args.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.metrics_namespace = metrics_namespace(args.cluster_name)
        self.statsd_host = STATSD_HOST
        self.statsd_port = STATSD_PORT
        self.log_group_names = groups
        self.logs_kms_key_arn = key.arn
        self.role_arn = self.addon.role_arn if self.addon else None
        register_public_outputs(self)
