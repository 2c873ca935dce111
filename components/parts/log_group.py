"""An audit log group with its own key: one helper, so the flow logs and the control-plane logs are
kept the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.parts.kms import encryption_key
from lib.naming import with_name
from lib.security.audit import log_group_key_policy


def encrypted_log_group(
    parent: pulumi.Resource,
    name: str,
    group: str,
    region: str,
    account_id: pulumi.Input[str],
    retention_days: int,
    protect: bool,
    tags: Mapping[str, str],
    adopt_key_id: str = "",
) -> tuple[aws.kms.Key, aws.cloudwatch.LogGroup]:
    """The log group `group` (resource `name`) with `retention_days`, encrypted with a key of its
    own (`<name>-key`, alias `<name>`) that CloudWatch Logs may use for that group only. Both
    outlive a destroy (`retain_on_delete`): an audit trail is kept for its retention, and its
    events cannot be read without the key. So a stack re-created under the same name finds them:
    with `adopt_key_id` (the kept key's ID), both are imported (`import_`) instead of created, and
    the trail goes on in the same group under the same key."""
    key = encryption_key(
        parent,
        f"{name}-key",
        alias=name,
        description=f"CloudWatch Logs encryption of {group}",
        protect=protect,
        tags=tags,
        retain_on_delete=True,
        policy=pulumi.Output.from_input(account_id).apply(
            lambda account: json.dumps(log_group_key_policy(account, region, group))
        ),
        adopt_id=adopt_key_id,
    )
    log_group = aws.cloudwatch.LogGroup(
        name,
        name=group,
        retention_in_days=retention_days,
        kms_key_id=key.arn,
        tags=with_name(tags, group),
        opts=pulumi.ResourceOptions(
            parent=parent, protect=protect, retain_on_delete=True, import_=group if adopt_key_id else None
        ),
    )
    return key, log_group
