"""RDS building blocks of the Database component: its parameter group and its log groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from lib.database.postgres import server_parameters
from lib.naming import child_name, with_name

LOG_RETENTION_DAYS = 30


def parameter_group(
    parent: pulumi.Resource,
    name: str,
    identifier: str,
    engine_version: str,
    slow_statement_ms: int,
    tags: Mapping[str, str],
) -> aws.rds.ParameterGroup:
    """`<name>-db-postgres<major>`: TLS required, slow statements, connections and lock waits logged.
    The family is in the name: a major upgrade creates a new group beside the old one."""
    family = f"postgres{engine_version.split('.')[0]}"
    return aws.rds.ParameterGroup(
        child_name(name, "db", family),
        name=child_name(name, "db", family),
        family=family,
        description=f"RDS instance {identifier}: TLS only, slow statements logged",
        # All dynamic: they apply without a reboot.
        parameters=[
            aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="immediate")
            for k, v in server_parameters(slow_statement_ms).items()
        ],
        tags=with_name(tags, child_name(name, "db", family)),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def log_group_names(identifier: str, exported: Sequence[str]) -> list[str]:
    """Where RDS exports each log of the instance."""
    return [f"/aws/rds/instance/{identifier}/{log}" for log in exported]


def log_groups(
    parent: pulumi.Resource,
    name: str,
    identifier: str,
    exported: Sequence[str],
    key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
) -> list[aws.cloudwatch.LogGroup]:
    """A log group per exported log, with a retention and encrypted with `key_arn`: created before
    the instance, so that RDS does not create them itself, without either. Adding the key to a
    group that exists associates it in place (AssociateKmsKey; the provider's `kms_key_id` is not
    ForceNew, reports/replacement.py): events written from then on are encrypted."""
    return [
        aws.cloudwatch.LogGroup(
            child_name(name, "db-log", log),
            name=group,
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=key_arn,
            tags=with_name(tags, child_name(name, "db-log", log)),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for log, group in zip(exported, log_group_names(identifier, exported), strict=True)
    ]
