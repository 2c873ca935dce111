"""Dashboard: the stack's CloudWatch dashboard.

Creates (`airflow:index:Dashboard`):
- a CloudWatch dashboard named after the component, its widgets from `lib/observability/dashboard.py` over the
  stack's own resources (cluster, database, file system, load balancer, alarms).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.parts.outputs import register_public_outputs
from lib.observability.dashboard import DashboardInputs, dashboard_body, dashboard_url


@dataclass(frozen=True)
class DashboardArgs:
    region: str
    """Region of every metric."""
    cluster_name: str
    """The EKS cluster (Container Insights' `ClusterName`)."""
    airflow_namespace: str
    """Namespace of the Airflow pods."""
    file_system_id: pulumi.Input[str]
    """The EFS file system."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """The NLB's ARN suffix (`net/...`)."""
    target_group_arn_suffix: pulumi.Input[str]
    """The API server target group's ARN suffix."""
    alarm_arns: Sequence[pulumi.Input[str]] = ()
    """Alarms whose state the dashboard shows."""
    metrics_namespace: str | None = None
    """Namespace of Airflow's StatsD metrics; None: no Airflow or pod widgets."""
    db_instance_identifier: str | None = None
    """The RDS instance; None: no database widgets."""
    workers_at_max_metric: tuple[str, str] | None = None
    """(namespace, metric) counting the workers group at its maximum size."""


class Dashboard(pulumi.ComponentResource):
    dashboard_name: str
    """Name of the dashboard."""
    url: str
    """Its address in the CloudWatch console."""

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Dashboard", name, None, opts)
        parts = pulumi.Output.all(
            args.file_system_id, args.load_balancer_arn_suffix, args.target_group_arn_suffix, *args.alarm_arns
        )

        def body(v: list[str]) -> str:
            inputs = DashboardInputs(
                region=args.region,
                cluster_name=args.cluster_name,
                airflow_namespace=args.airflow_namespace,
                file_system_id=v[0],
                load_balancer=v[1],
                target_group=v[2],
                alarm_arns=v[3:],
                metrics_namespace=args.metrics_namespace,
                db_instance_identifier=args.db_instance_identifier,
                workers_at_max_metric=args.workers_at_max_metric,
            )
            return json.dumps(dashboard_body(inputs), sort_keys=True)

        aws.cloudwatch.Dashboard(
            name, dashboard_name=name, dashboard_body=parts.apply(body), opts=pulumi.ResourceOptions(parent=self)
        )
        self.dashboard_name = name
        self.url = dashboard_url(args.region, name)
        register_public_outputs(self)
