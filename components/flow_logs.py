"""FlowLogs: every connection in and out of the VPC's network interfaces, kept in CloudWatch Logs.

Creates (`airflow:index:FlowLogs`):
- a KMS key (yearly rotation) that CloudWatch Logs may use for the flow log group only;
- the log group, with a retention, encrypted with that key; it and its key outlive a destroy;
- an IAM role that only VPC Flow Logs may assume, for this account's flow logs in the region
  (`aws:SourceAccount`, `aws:SourceArn`), allowed to write that log group's streams and nothing else
  (`lib/security/audit.py` has the documents and what was read to write them);
- a flow log of the VPC, accepted and rejected traffic (`ALL`), aggregated over 10 minutes.
It works the same on a VPC the program creates and on one you bring (a VPC holds several flow
logs; destroying the stack deletes only this one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.parts.iam_roles import iam_role
from components.parts.log_group import encrypted_log_group
from components.parts.outputs import register_public_outputs
from lib.naming import child_name, with_name
from lib.observability.cloudwatch import LOG_RETENTION_DAYS
from lib.security.audit import flow_logs_role_policy, flow_logs_trust_policy, log_group_arn

TRAFFIC_TYPE = "ALL"
AGGREGATION_SECONDS = 600  # AWS's default and longest: fewer records, the same flows


@dataclass(frozen=True)
class FlowLogsArgs:
    vpc_id: pulumi.Input[str]
    """The VPC whose traffic is logged."""
    log_group_name: str
    """Name of the log group (`/aws/vpc/<name>/flow-logs`)."""
    region: str
    """The VPC's region (the key policy and the role's conditions name it)."""
    account_id: pulumi.Input[str]
    """Its account."""
    retention_days: int = 365
    """Days CloudWatch keeps the records (a value CloudWatch Logs accepts)."""
    protect: bool = True
    """Pulumi `protect` on the log group and its key."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""
    adopt_key_id: str = ""
    """ID of the key of a log group a destroyed stack of the same name kept: the group and the key
    are imported, not created (`components/parts/log_group.py`)."""

    def __post_init__(self) -> None:
        if not self.log_group_name or not self.region:
            raise ValueError("FlowLogsArgs: log_group_name and region are required")
        if self.retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"FlowLogsArgs.retention_days {self.retention_days} is not one of {LOG_RETENTION_DAYS}")


class FlowLogs(pulumi.ComponentResource):
    log_group_name: pulumi.Output[str]
    """The flow logs' log group."""
    kms_key_arn: pulumi.Output[str]
    """Its key."""
    role_arn: pulumi.Output[str]
    """The role VPC Flow Logs delivers with."""
    flow_log_id: pulumi.Output[str]
    """ID of the flow log (`fl-...`)."""

    def __init__(self, name: str, args: FlowLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:FlowLogs", name, None, opts)
        key, group = encrypted_log_group(
            self,
            name,
            args.log_group_name,
            args.region,
            args.account_id,
            args.retention_days,
            args.protect,
            args.tags,
            adopt_key_id=args.adopt_key_id,
        )
        account = pulumi.Output.from_input(args.account_id)
        role, _ = iam_role(
            self,
            child_name(name, "role"),
            account.apply(lambda a: json.dumps(flow_logs_trust_policy(a, args.region))),
            args.tags,
            description=f"VPC Flow Logs delivery to {args.log_group_name}",
        )
        policy = aws.iam.RolePolicy(
            child_name(name, "role-policy"),
            role=role.name,
            policy=account.apply(
                lambda a: json.dumps(
                    flow_logs_role_policy(log_group_arn(args.region, a, args.log_group_name), args.region, a)
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        flow_log = aws.ec2.FlowLog(
            child_name(name, "vpc"),
            vpc_id=args.vpc_id,
            traffic_type=TRAFFIC_TYPE,
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=AGGREGATION_SECONDS,
            tags=with_name(args.tags, child_name(name, "vpc")),
            # Delivery starts at once: the role must already be allowed to write.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.log_group_name = group.name
        self.kms_key_arn = key.arn
        self.role_arn = role.arn
        self.flow_log_id = flow_log.id
        register_public_outputs(self)
