"""Database: the PostgreSQL server that holds Airflow's metadata, or the one you bring.

Creates (`airflow:index:Database`), when no existing database is given:
- a KMS key (yearly rotation) and alias for the storage, snapshots and Performance Insights; a
  DB subnet group over the data subnets; a security group admitting only PgBouncer's nodes on 5432;
- a parameter group (`postgres<major>`): TLS required, slow statements, connections and lock
  waits logged; CloudWatch log groups for the exported logs, with a retention, encrypted with a
  key of their own (`<name>-db-log-key`) that CloudWatch Logs may use for those groups only;
- a KMS key (`<name>-db-secret-key`) for the master user's secret: RDS manages the master password
  in Secrets Manager (`manage_master_user_password`) and rotates it (every 7 days by default), so it
  is never in the program, its state or its outputs;
- with `one_key`, neither of those two keys: the storage key encrypts the log groups (its policy
  then lets CloudWatch Logs use it for them only) and the master's secret too;
- with a final snapshot, its name's suffix, generated once per instance (`<identifier>-final-<hex>`);
- the RDS instance: gp3 with storage autoscaling, Multi-AZ or not, private, automated backups,
  minor upgrades in the maintenance window and never an immediate or major change. With
  `protect`, deletion protection and Pulumi `protect` on the instance and its key; with a final
  snapshot or kept backups, a destroy keeps the key too (a snapshot is useless without it). With
  `restore_snapshot_identifier`, created from that snapshot, under the snapshot's key;
- the instance's desired state (`aws.rds.InstanceDesiredState`): `stopped` while the stack
  hibernates, `available` otherwise (AWS starts a stopped instance by itself after 7 days).
With an existing database, at most one ingress rule (its port, from the clients' group) in its
group, and the administrator's password you gave (`existingDbPassword`) in a Secrets Manager secret
of RDS's shape (`{"username", "password"}`) under the same kind of key: either way the roles Job
(`DatabaseRoles`) reads the master credentials from `master_secret_arn`, and Airflow never uses them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.parts.kms import encryption_key
from components.parts.outputs import register_public_outputs
from components.parts.rds import log_group_names, log_groups, parameter_group
from components.parts.security_groups import ingress_rule
from lib.database.pgbouncer.tls import RDS_CA_IDENTIFIER
from lib.database.postgres import EXISTING_DATABASE_MAX_CONNECTIONS, max_connections, running_max_connections
from lib.naming import child_name, with_name
from lib.security.audit import log_groups_key_policy

POSTGRES_PORT = 5432
EXPORTED_LOGS = ("postgresql", "upgrade")
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7  # the free tier
SNAPSHOT_SUFFIX_BYTES = 4


def master_secret_string(username: str, password: pulumi.Input[str]) -> pulumi.Output[str]:
    """A brought database's administrator as RDS writes its managed secret (a Pulumi secret)."""
    return pulumi.Output.secret(
        pulumi.Output.from_input(password).apply(lambda p: json.dumps({"username": username, "password": p}))
    )


@dataclass(frozen=True)
class ExistingDatabaseArgs:
    """A PostgreSQL server to use instead of creating one."""

    host: str
    """Its host name."""
    password: pulumi.Input[str]
    """Password of its administrator, `username` (a secret): kept in a Secrets Manager secret the
    roles Job reads; Airflow itself logs in as its own role."""
    port: int = POSTGRES_PORT
    """Its port."""
    security_group_id: str = ""
    """Its security group: when given, the clients' group is admitted to it on `port`."""


@dataclass(frozen=True)
class DatabaseArgs:
    vpc_id: pulumi.Input[str]
    """The VPC of the database's security group."""
    subnet_ids: pulumi.Input[list[str]]
    """Data subnets, one per AZ."""
    client_security_group_id: pulumi.Input[str]
    """The security group of the database's clients (PgBouncer's nodes): the only source admitted."""
    region: str = ""
    """The stack's region (the log groups' key policy); required."""
    account_id: pulumi.Input[str] = ""
    """The stack's account (the keys' policies); required."""
    instance_class: str = "db.r6g.large"
    """RDS class (db.t3/t4g, or db.m5+/r5+): PgBouncer's pools are sized from its memory."""
    engine_version: str = "16"
    """PostgreSQL major or major.minor."""
    allocated_storage_gib: int = 50
    """Initial gp3 storage."""
    max_allocated_storage_gib: int = 500
    """Storage autoscaling ceiling."""
    multi_az: bool = True
    """A synchronous standby in another AZ."""
    backup_retention_days: int = 14
    """Days of automated backups."""
    backup_window: str = "02:00-03:00"
    """Daily, UTC."""
    maintenance_window: str = "sun:04:00-sun:05:00"
    """Weekly, UTC: every instance change waits for it."""
    performance_insights: bool = True
    """Performance Insights, encrypted with the database key."""
    final_snapshot: bool = True
    """Snapshot the database when it is deleted (`<identifier>-final-<hex>`)."""
    retain_automated_backups: bool = True
    """Keep the automated backups when it is deleted."""
    slow_statement_ms: int = 1000
    """Log statements slower than this (`log_min_duration_statement`)."""
    db_name: str = "airflow"
    """The Airflow metadata database."""
    username: str = "airflow"
    """The master user (a brought database's administrator): only the roles Job connects as it."""
    existing: ExistingDatabaseArgs | None = None
    """Use this server instead of creating one (then the instance options above are unused)."""
    protect: bool = True
    """Deletion protection and Pulumi `protect` on the instance and its key."""
    stopped: bool = False
    """Keep the created instance stopped (hibernation); its storage and backups stay."""
    one_key: bool = False
    """One key (the storage key) also for the exported log groups and the master's secret, instead of a
    key each (`<name>-db-log-key`, `<name>-db-secret-key`)."""
    restore_snapshot_identifier: str = ""
    """Create the instance from this RDS snapshot (its data, user, database name and encryption key);
    "" creates it empty. Changing it replaces the instance (see `_create`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource."""

    def __post_init__(self) -> None:
        if self.existing is None:
            try:  # pools are sized from the class's memory
                max_connections(self.instance_class)
            except ValueError as err:
                raise ValueError(f"DatabaseArgs.instance_class {err}") from None
        if not self.db_name or not self.username:
            raise ValueError("DatabaseArgs: db_name and username are required")
        if not self.region or not self.account_id:
            raise ValueError("DatabaseArgs: region and account_id are required (the keys' policies)")
        if self.existing is not None and self.restore_snapshot_identifier:
            raise ValueError("DatabaseArgs: restore_snapshot_identifier restores a created instance, not a brought one")


class Database(pulumi.ComponentResource):
    address: pulumi.Output[str]
    """Host name of the database."""
    port: pulumi.Output[int]
    """TCP port of the database."""
    db_name: str
    """Name of the Airflow metadata database."""
    security_group_id: pulumi.Output[str]
    """Security group of the database; empty for an existing database given without one."""
    username: str
    """The master user (a brought database's administrator)."""
    master_secret_arn: pulumi.Output[str]
    """The Secrets Manager secret of the master's `{"username", "password"}`: RDS's managed one, or
    the one written for a brought database. Only the roles Job reads it."""
    master_secret_key_arn: pulumi.Output[str]
    """The KMS key of that secret."""
    resource_id: pulumi.Output[str]
    """What tells one database from another behind the same address: the instance's resource ID
    (`db-...`, new when a restore replaces it); the host for a brought one."""
    instance_identifier: str | None
    """RDS identifier of the created instance (None for an existing database)."""
    kms_key_arn: pulumi.Output[str] | None
    """KMS key encrypting the created instance (None for an existing database)."""
    max_connections: pulumi.Output[int]
    """The ceiling for connection pools: RDS's default `max_connections` for the smaller of the
    running and the configured class (a change waits for the window), or 100 for a brought one."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airflow:index:Database", name, None, opts)
        self.db_name = args.db_name
        self.username = args.username
        if args.existing is not None:
            self._use_existing(name, args, args.existing)
        else:
            self._create(name, args)
        register_public_outputs(self)

    def _admit_clients(self, name: str, args: DatabaseArgs, security_group_id: pulumi.Input[str], port: int) -> None:
        # A new name: Pulumi deletes the old `db-from-nodes` at the end of the update, after the nodes roll.
        ingress_rule(
            self,
            child_name(name, "db-from-clients"),
            security_group_id=security_group_id,
            port=port,
            description="PostgreSQL from PgBouncer's nodes",
            source_security_group_id=args.client_security_group_id,
            tags=args.tags,
        )

    def _use_existing(self, name: str, args: DatabaseArgs, existing: ExistingDatabaseArgs) -> None:
        if existing.security_group_id:
            self._admit_clients(name, args, existing.security_group_id, existing.port)
        self.address = pulumi.Output.from_input(existing.host)
        self.port = pulumi.Output.from_input(existing.port)
        self.security_group_id = pulumi.Output.from_input(existing.security_group_id)
        key = self._secret_key(name, args, f"the administrator of {existing.host}")
        secret = aws.secretsmanager.Secret(
            child_name(name, "db-master-secret"),
            description=f"Administrator of the brought database {existing.host} (existingDbPassword)",
            kms_key_id=key.arn,
            tags=with_name(args.tags, child_name(name, "db-master-secret")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretVersion(
            child_name(name, "db-master-secret"),
            secret_id=secret.id,
            secret_string=master_secret_string(args.username, existing.password),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.master_secret_arn = secret.arn
        self.master_secret_key_arn = key.arn
        self.resource_id = pulumi.Output.from_input(existing.host)
        self.instance_identifier = None
        self.kms_key_arn = None
        self.max_connections = pulumi.Output.from_input(EXISTING_DATABASE_MAX_CONNECTIONS)

    def _network(
        self, name: str, identifier: str, args: DatabaseArgs
    ) -> tuple[aws.rds.SubnetGroup, aws.ec2.SecurityGroup]:
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = aws.rds.SubnetGroup(
            child_name(name, "db-subnets"),
            name=child_name(name, "db-subnets"),
            description=f"Data subnets of RDS instance {identifier}",
            subnet_ids=args.subnet_ids,
            tags=with_name(args.tags, child_name(name, "db-subnets")),
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            child_name(name, "db-sg"),
            # Unchanged since the group admitted every node: a new description replaces the group.
            description=f"RDS instance {identifier}: PostgreSQL from the EKS nodes only",
            vpc_id=args.vpc_id,
            tags=with_name(args.tags, child_name(name, "db-sg")),
            opts=child,
        )
        self._admit_clients(name, args, security_group.id, POSTGRES_PORT)
        return subnet_group, security_group

    def _final_snapshot(self, name: str, identifier: str, args: DatabaseArgs) -> pulumi.Output[str] | None:
        """The final snapshot's name (None without a final snapshot)."""
        if not args.final_snapshot:
            return None
        # Generated once (no keepers): stable across updates, new for a new instance.
        # A restored instance is another instance: its final snapshot gets another name.
        restore = args.restore_snapshot_identifier
        suffix = random.RandomId(
            child_name(name, "db-final-snapshot-suffix"),
            byte_length=SNAPSHOT_SUFFIX_BYTES,
            keepers={"restoredFrom": restore} if restore else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.concat(identifier, "-final-", suffix.hex)

    def _secret_key(self, name: str, args: DatabaseArgs, whose: str) -> aws.kms.Key:
        """The key of the master's secret: decrypted only through Secrets Manager, by the roles Job's role."""
        return encryption_key(
            self,
            child_name(name, "db-secret-key"),
            alias=f"{name}-rds-master-secret",
            description=f"Secrets Manager secret of {whose}",
            protect=args.protect,
            tags=args.tags,
        )

    def _key_and_logs(
        self, name: str, identifier: str, args: DatabaseArgs
    ) -> tuple[aws.kms.Key, list[aws.cloudwatch.LogGroup]]:
        groups = log_group_names(identifier, EXPORTED_LOGS)
        logs_policy = pulumi.Output.from_input(args.account_id).apply(
            lambda account: json.dumps(log_groups_key_policy(account, args.region, groups))
        )
        key = encryption_key(
            self,
            child_name(name, "db-key"),
            alias=f"{name}-rds",
            description=(
                "Storage, snapshots, Performance Insights, exported logs and master secret"
                if args.one_key
                else "Storage, snapshots and Performance Insights"
            )
            + f" of RDS instance {identifier}",
            protect=args.protect,
            tags=args.tags,
            retain_on_delete=args.final_snapshot or args.retain_automated_backups,
            # One key: CloudWatch Logs may use it for these groups only; RDS and Secrets Manager use it
            # through the account's IAM (the key policy's root statement), as with the default policy.
            policy=logs_policy if args.one_key else None,
        )
        if args.one_key:
            return key, log_groups(self, name, identifier, EXPORTED_LOGS, key.arn, args.tags)
        log_key = encryption_key(
            self,
            child_name(name, "db-log-key"),
            alias=f"{name}-rds-logs",
            description=f"CloudWatch Logs encryption of RDS instance {identifier}'s exported logs",
            protect=args.protect,
            tags=args.tags,
            # Goes with the groups, which a destroy deletes (unlike the audit logs', kept with their keys).
            policy=logs_policy,
        )
        logs = log_groups(self, name, identifier, EXPORTED_LOGS, log_key.arn, args.tags)
        return key, logs

    def _desired_state(self, identifier: str, instance: aws.rds.Instance, stopped: bool) -> None:
        # Stopping keeps storage, snapshots and the endpoint; the instance itself is never replaced.
        aws.rds.InstanceDesiredState(
            child_name(identifier, "state"),
            identifier=instance.identifier,
            state="stopped" if stopped else "available",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create(self, name: str, args: DatabaseArgs) -> None:
        identifier = child_name(name, "db")
        key, log_groups = self._key_and_logs(name, identifier, args)
        subnet_group, security_group = self._network(name, identifier, args)
        final_snapshot = self._final_snapshot(name, identifier, args)
        secret_key = key if args.one_key else self._secret_key(name, args, f"RDS instance {identifier}'s master user")
        insights = args.performance_insights
        restore = args.restore_snapshot_identifier
        instance = aws.rds.Instance(
            identifier,
            identifier=identifier,
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_name=args.db_name,
            username=args.username,
            # RDS keeps the master password in Secrets Manager under this key, and rotates it; the
            # provider modifies a live instance to it in place (manage_master_user_password and
            # master_user_secret_kms_key_id are not ForceNew: terraform-provider-aws
            # internal/service/rds/instance.go; reports/replacement.py). UPGRADING.md has the steps.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=secret_key.arn,
            port=POSTGRES_PORT,
            iam_database_authentication_enabled=False,  # PgBouncer logs in with the password
            ca_cert_identifier=RDS_CA_IDENTIFIER,  # held by the bundle PgBouncer verifies with
            storage_type="gp3",
            allocated_storage=args.allocated_storage_gib,
            max_allocated_storage=args.max_allocated_storage_gib,
            storage_encrypted=True,
            # RDS restores a snapshot under the snapshot's key (RestoreDBInstanceFromDBSnapshot takes
            # none), and the provider replaces an instance whose key differs from its input: none then.
            snapshot_identifier=restore or None,
            kms_key_id=None if restore else key.arn,
            multi_az=args.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            parameter_group_name=parameter_group(
                self, name, identifier, args.engine_version, args.slow_statement_ms, args.tags
            ).name,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            # Changes wait for the maintenance window: a routine update never restarts the database.
            apply_immediately=False,
            performance_insights_enabled=insights,
            performance_insights_kms_key_id=key.arn if insights else None,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS if insights else None,
            deletion_protection=args.protect,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=final_snapshot,
            delete_automated_backups=not args.retain_automated_backups,
            tags=with_name(args.tags, identifier),
            # A restore replaces the instance (the provider's snapshot_identifier forces a new one) under
            # the same identifier: the old one goes first (taking its final snapshot).
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=log_groups, delete_before_replace=bool(restore)
            ),
        )
        self._desired_state(identifier, instance, args.stopped)
        self.address, self.port = instance.address, instance.port
        self.security_group_id = security_group.id
        self.master_secret_arn = instance.master_user_secrets.apply(_secret_arn)
        self.master_secret_key_arn = secret_key.arn
        self.resource_id = instance.resource_id
        self.instance_identifier = identifier
        self.kms_key_arn = key.arn
        # RDS reports the running class until a deferred change applies (apply_immediately is off).
        self.max_connections = instance.instance_class.apply(lambda c: running_max_connections(args.instance_class, c))


def _secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    """The managed secret's ARN (RDS creates one with manage_master_user_password)."""
    return secrets[0].secret_arn if secrets and secrets[0].secret_arn else ""
