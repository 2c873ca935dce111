"""The audit trail's names and documents: VPC flow logs, the EKS control-plane log group, and the
key policies of the keys that encrypt them and the nodes' root volumes.

Every key policy starts with the account's own administration through IAM (`key_policy`, AWS's
default statement: without it the key can lock the account out), then only what a service needs:
- a log group's key: CloudWatch Logs in the region, only while it encrypts or decrypts that one log
  group (`kms:EncryptionContext:aws:logs:arn`, ArnEquals on the group's ARN: CloudWatch Logs user
  guide, "Encrypt log data in CloudWatch Logs using AWS KMS", step "Set permissions on the key");
- the node volumes' key: the EC2 Auto Scaling service-linked role, which launches the instances of
  an EKS managed node group's Auto Scaling group. Its policy only covers AWS managed keys, so a
  customer managed key must name it: use of the key, and `kms:CreateGrant` only for AWS resources
  (`kms:GrantIsForAWSResource`), the two statements of "Required AWS KMS key policy for use with
  encrypted volumes" (EC2 Auto Scaling user guide, key-policy-requirements-EBS-encryption, read
  2026-11). No `kms:ViaService` condition: that page sets none, and whether Auto Scaling calls
  `kms:DescribeKey` itself or only through EC2 is not documented; a wrong guess stops every node
  from launching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lib.security.iam_documents import key_policy

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
AUTOSCALING_ROLE_PATH = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
"""The EC2 Auto Scaling service-linked role (its path and name are fixed by AWS)."""
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")
VOLUME_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
FLOW_LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")


def cluster_log_group(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to; EKS creates it when it does not exist."""
    return f"/aws/eks/{cluster_name}/cluster"


def flow_log_group(name: str) -> str:
    """The log group of the VPC's flow logs."""
    return f"/aws/vpc/{name}/flow-logs"


def log_group_arn(region: str, account_id: str, group: str) -> str:
    """A log group's ARN as the encryption context names it (no `:*` suffix)."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:{group}"


def log_group_key_policy(account_id: str, region: str, group: str) -> dict[str, Any]:
    """CloudWatch Logs in `region` may use the key for the log group `group`, and no other."""
    return key_policy(
        account_id,
        [
            {
                "Sid": "LogsEncryptThisGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": list(LOGS_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn(region, account_id, group)}
                },
            }
        ],
    )


def log_groups_key_policy(account_id: str, region: str, groups: Sequence[str]) -> dict[str, Any]:
    """CloudWatch Logs in `region` may use the key for these log groups (a database's exported
    logs), and no other: one ARN of the encryption context each."""
    arns = [log_group_arn(region, account_id, g) for g in groups]
    return key_policy(
        account_id,
        [
            {
                "Sid": "LogsEncryptTheseGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": list(LOGS_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arns}},
            }
        ],
    )


def autoscaling_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{AUTOSCALING_ROLE_PATH}"


def node_volume_key_policy(account_id: str) -> dict[str, Any]:
    """The Auto Scaling service-linked role may encrypt the nodes' root volumes with the key, and
    grant EC2 its use for the volumes it attaches (see the module docstring)."""
    role = {"AWS": autoscaling_role_arn(account_id)}
    return key_policy(
        account_id,
        [
            {
                "Sid": "AutoScalingUsesTheKey",
                "Effect": "Allow",
                "Principal": role,
                "Action": list(VOLUME_KEY_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "AutoScalingGrantsForVolumes",
                "Effect": "Allow",
                "Principal": role,
                "Action": ["kms:CreateGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            },
        ],
    )


def flow_logs_trust_policy(account_id: str, region: str) -> dict[str, Any]:
    """Only VPC Flow Logs may assume the role, and only for this account's flow logs in `region`
    (the confused-deputy conditions of the VPC user guide, "IAM role for publishing flow logs to
    CloudWatch Logs")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": FLOW_LOGS_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{region}:{account_id}:vpc-flow-log/*"},
                },
            }
        ],
    }


def flow_logs_role_policy(group_arn: str, region: str, account_id: str) -> dict[str, Any]:
    """What delivery needs, on the one log group: its streams, written. AWS's example role also
    lists `logs:CreateLogGroup` (the program creates the group) and `logs:DescribeLogGroups`,
    which names no single group: it is allowed on this account's groups in the region, and reads
    names, never log data."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": list(FLOW_LOG_WRITE_ACTIONS),
                "Resource": [group_arn, f"{group_arn}:*"],
            },
            {
                "Sid": "FindTheGroup",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": f"arn:aws:logs:{region}:{account_id}:log-group:*",
            },
        ],
    }
