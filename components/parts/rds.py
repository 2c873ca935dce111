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


def log_groups(
    parent: pulumi.Resource, name: str, identifier: str, exported: Sequence[str], tags: Mapping[str, str]
) -> list[aws.cloudwatch.LogGroup]:
    """A log group per exported log, with a retention: created before the instance, so that RDS
    does not create them itself, without one."""
    return [
        aws.cloudwatch.LogGroup(
            child_name(name, "db-log", log),
            name=f"/aws/rds/instance/{identifier}/{log}",
            retention_in_days=LOG_RETENTION_DAYS,
            tags=with_name(tags, child_name(name, "db-log", log)),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for log in exported
    ]
