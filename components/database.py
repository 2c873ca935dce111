"""Database: the PostgreSQL server that holds Airflow's metadata, or the one you bring.

Creates, when no existing database is given (`airflow:index:Database`):
- a KMS key (yearly rotation) and alias, encrypting the storage, snapshots and Performance
  Insights;
- a DB subnet group over the data subnets of every AZ;
- a security group whose only rule is a separate ingress rule: 5432 from the cluster's `nodes`
  security group (which depends only on the VPC, so the database never waits for the cluster);
- a parameter group (`postgres<major>`): TLS required, slow statements, connections and lock
  waits logged;
- CloudWatch log groups for the exported PostgreSQL logs, with a retention;
- a generated master password (alphanumeric, so the connection URI needs no escaping);
- the RDS instance: gp3 with storage autoscaling, Multi-AZ from settings, private, automated
  backups, minor upgrades in the maintenance window and never an immediate or major change.
  With `protect`: deletion protection and Pulumi `protect` on the instance and its key.
  Independently, from settings: a final snapshot on deletion, named with a suffix generated
  once per instance (`<identifier>-final-<hex>`: a second stack's destroy never collides),
  and automated backups kept after deletion; with either, a destroy keeps the key as well
  (a snapshot is useless without it).
With an existing database it creates at most one ingress rule (5432 from the nodes) in the
database's security group, when that group is given.

Either way `connection_uri` is Airflow's metadata connection, a Pulumi secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.kms import encryption_key
from config.settings import DatabaseSettings
from lib.naming import child_name, with_name
from lib.postgres import EXISTING_DATABASE_MAX_CONNECTIONS, running_max_connections

SNAPSHOT_SUFFIX_BYTES = 4

POSTGRES_PORT = 5432
EXPORTED_LOGS = ("postgresql", "upgrade")
LOG_RETENTION_DAYS = 30
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7  # the free tier
PASSWORD_LENGTH = 40


def connection_uri(
    username: str, password: pulumi.Input[str], host: pulumi.Input[str], port: pulumi.Input[int], db_name: str
) -> pulumi.Output[str]:
    """`postgresql://user:password@host:port/db?sslmode=require`, as a secret; the password is
    percent-encoded (a password you bring may hold any character)."""
    uri = pulumi.Output.all(password, host, port).apply(
        lambda v: (
            f"postgresql://{quote(username, safe='')}:{quote(str(v[0]), safe='')}@{v[1]}:{v[2]}/"
            f"{quote(db_name, safe='')}?sslmode=require"
        )
    )
    return pulumi.Output.secret(uri)


@dataclass(frozen=True)
class DatabaseArgs:
    settings: DatabaseSettings
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """Data subnets, one per AZ."""
    node_security_group_id: pulumi.Input[str]
    """The cluster's `nodes` security group: the only source admitted on 5432."""
    protect: bool = True
    """Deletion protection, a final snapshot and Pulumi `protect` on the instance and its key."""
    existing_password: pulumi.Input[str] | None = None
    """Password of `settings.username` on an existing database (a secret); only with one."""
    iam_database_authentication: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.settings.existing is not None and self.existing_password is None:
            raise ValueError("DatabaseArgs.existing_password is required with an existing database")
        if self.settings.existing is None and self.existing_password is not None:
            raise ValueError("DatabaseArgs.existing_password is set but the program creates the database")


class Database(pulumi.ComponentResource):
    address: pulumi.Output[str]
    """Host name of the database."""
    port: pulumi.Output[int]
    """TCP port of the database."""
    db_name: str
    """Name of the Airflow metadata database."""
    security_group_id: pulumi.Output[str]
    """Security group of the database; empty for an existing database given without one."""
    connection_uri: pulumi.Output[str]
    """Airflow's metadata connection, `postgresql://...?sslmode=require` (secret)."""
    instance_identifier: str | None
    """RDS identifier of the created instance (None for an existing database)."""
    kms_key_arn: pulumi.Output[str] | None
    """KMS key encrypting the created instance (None for an existing database)."""
    max_connections: pulumi.Output[int]
    """The server's `max_connections` (RDS's default for the class, or a conservative
    assumption for an existing database): the ceiling for connection pools. While a class
    change waits for the maintenance window, the smaller of the running and the configured
    class, so pools fit whichever runs."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Database", name, None, opts)
        s = args.settings
        self.db_name = s.db_name
        if s.existing is not None:
            self._use_existing(name, args)
        else:
            self._create(name, args)
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "dbName": self.db_name,
                "securityGroupId": self.security_group_id,
                "connectionUri": self.connection_uri,
                "instanceIdentifier": self.instance_identifier,
                "kmsKeyArn": self.kms_key_arn,
                "maxConnections": self.max_connections,
            }
        )

    def _admit_nodes(self, name: str, args: DatabaseArgs, security_group_id: pulumi.Input[str], port: int) -> None:
        # A separate rule (not inline): it waits only for the two groups, never for the cluster.
        aws.vpc.SecurityGroupIngressRule(
            child_name(name, "db-from-nodes"),
            security_group_id=security_group_id,
            referenced_security_group_id=args.node_security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description="PostgreSQL from the EKS nodes",
            tags=with_name(args.tags, child_name(name, "db-from-nodes")),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _use_existing(self, name: str, args: DatabaseArgs) -> None:
        s = args.settings
        existing = s.existing
        assert existing is not None and args.existing_password is not None
        if existing.security_group_id:
            self._admit_nodes(name, args, existing.security_group_id, existing.port)
        self.address = pulumi.Output.from_input(existing.host)
        self.port = pulumi.Output.from_input(existing.port)
        self.security_group_id = pulumi.Output.from_input(existing.security_group_id)
        self.connection_uri = connection_uri(
            s.username, pulumi.Output.secret(args.existing_password), existing.host, existing.port, s.db_name
        )
        self.instance_identifier = None
        self.kms_key_arn = None
        self.max_connections = pulumi.Output.from_input(EXISTING_DATABASE_MAX_CONNECTIONS)

    def _create(self, name: str, args: DatabaseArgs) -> None:
        s, tags, protect = args.settings, args.tags, args.protect
        child = pulumi.ResourceOptions(parent=self)
        identifier = child_name(name, "db")

        key = encryption_key(
            self,
            child_name(name, "db-key"),
            alias=f"{name}-rds",
            description=f"Storage, snapshots and Performance Insights of RDS instance {identifier}",
            protect=protect,
            tags=tags,
            retain_on_delete=s.final_snapshot or s.retain_automated_backups,
        )

        subnet_group = aws.rds.SubnetGroup(
            child_name(name, "db-subnets"),
            name=child_name(name, "db-subnets"),
            description=f"Data subnets of RDS instance {identifier}",
            subnet_ids=args.subnet_ids,
            tags=with_name(tags, child_name(name, "db-subnets")),
            opts=child,
        )

        security_group = aws.ec2.SecurityGroup(
            child_name(name, "db-sg"),
            description=f"RDS instance {identifier}: PostgreSQL from the EKS nodes only",
            vpc_id=args.vpc_id,
            tags=with_name(tags, child_name(name, "db-sg")),
            opts=child,
        )
        self._admit_nodes(name, args, security_group.id, POSTGRES_PORT)

        # The family is in the name: a major upgrade creates a new group beside the old one.
        family = f"postgres{s.engine_major}"
        parameter_group = aws.rds.ParameterGroup(
            child_name(name, "db", family),
            name=child_name(name, "db", family),
            family=family,
            description=f"RDS instance {identifier}: TLS only, slow statements logged",
            parameters=[
                # All dynamic: they apply without a reboot.
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="immediate"),
                aws.rds.ParameterGroupParameterArgs(
                    name="log_min_duration_statement", value=str(s.slow_statement_ms), apply_method="immediate"
                ),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1", apply_method="immediate"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1", apply_method="immediate"),
                aws.rds.ParameterGroupParameterArgs(name="log_lock_waits", value="1", apply_method="immediate"),
            ],
            tags=with_name(tags, child_name(name, "db", family)),
            opts=child,
        )

        # Created first, so RDS does not create them itself without a retention.
        log_groups = [
            aws.cloudwatch.LogGroup(
                child_name(name, "db-log", log),
                name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=LOG_RETENTION_DAYS,
                tags=with_name(tags, child_name(name, "db-log", log)),
                opts=child,
            )
            for log in EXPORTED_LOGS
        ]

        # Alphanumeric only: valid for RDS and safe inside a URI. No keepers: it never changes.
        password = random.RandomPassword(
            child_name(name, "db-password"),
            length=PASSWORD_LENGTH,
            special=False,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            opts=child,
        )

        final_snapshot: pulumi.Output[str] | None = None
        if s.final_snapshot:
            # Generated once (no keepers): stable across updates, new for a new instance.
            suffix = random.RandomId(
                child_name(name, "db-final-snapshot-suffix"), byte_length=SNAPSHOT_SUFFIX_BYTES, opts=child
            )
            final_snapshot = pulumi.Output.concat(identifier, "-final-", suffix.hex)

        insights = s.performance_insights
        instance = aws.rds.Instance(
            identifier,
            identifier=identifier,
            engine="postgres",
            engine_version=s.engine_version,
            instance_class=s.instance_class,
            db_name=s.db_name,
            username=s.username,
            password=password.result,
            port=POSTGRES_PORT,
            iam_database_authentication_enabled=args.iam_database_authentication,
            storage_type="gp3",
            allocated_storage=s.allocated_storage_gib,
            max_allocated_storage=s.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=key.arn,
            multi_az=s.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            parameter_group_name=parameter_group.name,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            backup_retention_period=s.backup_retention_days,
            backup_window=s.backup_window,
            maintenance_window=s.maintenance_window,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            # Changes wait for the maintenance window: a routine update never restarts the database.
            apply_immediately=False,
            performance_insights_enabled=insights,
            performance_insights_kms_key_id=key.arn if insights else None,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS if insights else None,
            deletion_protection=protect,
            skip_final_snapshot=not s.final_snapshot,
            final_snapshot_identifier=final_snapshot,
            delete_automated_backups=not s.retain_automated_backups,
            tags=with_name(tags, identifier),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=log_groups),
        )

        self.address = instance.address
        self.port = instance.port
        self.security_group_id = security_group.id
        self.connection_uri = connection_uri(s.username, password.result, instance.address, instance.port, s.db_name)
        self.instance_identifier = identifier
        self.kms_key_arn = key.arn
        # RDS reports the running class until a deferred change applies (apply_immediately is off).
        self.max_connections = instance.instance_class.apply(
            lambda running: running_max_connections(s.instance_class, running)
        )
