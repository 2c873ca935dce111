"""Data-tier settings: the metadata database (created or brought) and the shared file system."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from config.checks import Section, host_name, ids, in_range, one_of
from config.keys import key, secret_key
from lib.database.postgres import (
    RDS_DATABASES,
    RDS_POSTGRES_MINORS,
    RESERVED_WORDS,
    backup_window,
    engine_version_problem,
    instance_memory_gib,
    maintenance_window,
    role_name_problem,
    windows_overlap,
)
from lib.database.roles import LONGEST_DB_NAME, MAX_GENERATION

SUPPORTED_POSTGRES_MAJORS = tuple(RDS_POSTGRES_MINORS)
EFS_TRANSITION_DAYS = (1, 7, 14, 30, 60, 90, 180, 270, 365)
_DB_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9-]+\.[a-z0-9]+")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""A PostgreSQL name unquoted: a letter, then letters, digits or `_`, at most 63 (RDS: DB name)."""
_SNAPSHOT = re.compile(
    r"(arn:aws[a-z-]*:rds:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:snapshot:)?(rds:)?[A-Za-z](-?[A-Za-z0-9]){0,254}"
)
"""An RDS DB snapshot: its identifier (CreateDBSnapshot's rules; `rds:` for an automated one) or ARN."""
MASTER_USER_MAX = 16
"""RDS's limit on the master user name (CreateDBInstance: 1 to 16 letters, digits or `_`)."""


@dataclass(frozen=True)
class DatabaseSettings(Section):
    SECTION: ClassVar[str] = "database"
    TITLE: ClassVar[str] = "Metadata database"

    instance_class: str = key(
        "dbInstanceClass",
        "db.m7g.large",
        "RDS instance class of the metadata database, of a family the program sizes PgBouncer for: db.t3, "
        "db.t4g, db.m5/m5d, db.m6g/m6gd, db.m6i/m6id/m6in/m6idn, db.m7g, db.m7i, db.m8g/m8gd and the "
        "db.r families of the same generations (db.r5b too), in sizes that family has.",
        only_without="existingDbHost",
    )
    engine_version: str = key(
        "dbEngineVersion",
        "16",
        "PostgreSQL engine version, major or major.minor (13 to 17): a minor RDS has released "
        '(lib/database/postgres.py lists them); quoted in the stack file ("16.10": YAML reads 16.10 as 16.1).',
        only_without="existingDbHost",
    )
    allocated_storage_gib: int = key(
        "dbAllocatedStorageGib",
        50,
        "Initial gp3 storage in GiB (20 to 65536).",
        only_without="existingDbHost",
    )
    max_allocated_storage_gib: int = key(
        "dbMaxAllocatedStorageGib",
        500,
        "Storage autoscaling ceiling in GiB (at least dbAllocatedStorageGib).",
        only_without="existingDbHost",
    )
    multi_az: bool = key(
        "dbMultiAz",
        True,
        "Run a synchronous standby in another AZ.",
        only_without="existingDbHost",
    )
    backup_retention_days: int = key(
        "dbBackupRetentionDays",
        14,
        "Days of automated backups (1 to 35; at least 7 when protectStatefulResources is on).",
        only_without="existingDbHost",
    )
    backup_window: str = key(
        "dbBackupWindow",
        "02:00-03:00",
        "Daily backup window, UTC, hh:mm-hh:mm, 30 minutes or more, never overlapping the maintenance window.",
        only_without="existingDbHost",
    )
    maintenance_window: str = key(
        "dbMaintenanceWindow",
        "sun:04:00-sun:05:00",
        "Weekly maintenance window, UTC, ddd:hh:mm-ddd:hh:mm, 30 minutes or more.",
        only_without="existingDbHost",
    )
    performance_insights: bool = key(
        "dbPerformanceInsights",
        True,
        "Enable Performance Insights (encrypted with the database KMS key).",
        only_without="existingDbHost",
    )
    final_snapshot: bool = key(
        "dbFinalSnapshot",
        True,
        "Take a final snapshot when the database is deleted, `<identifier>-final-<hex>` (the suffix is "
        "generated once per database, so a second stack's destroy never collides); its KMS key is then "
        "kept too.",
        only_without="existingDbHost",
    )
    retain_automated_backups: bool = key(
        "dbRetainAutomatedBackups",
        True,
        "Keep the automated backups (for their retention period) when the database is deleted; its KMS "
        "key is then kept too.",
        only_without="existingDbHost",
    )
    slow_statement_ms: int = key(
        "dbSlowStatementMs",
        1000,
        "Log statements slower than this many milliseconds (log_min_duration_statement).",
        only_without="existingDbHost",
    )
    db_name: str = key(
        "dbName",
        "airflow",
        "Name of the Airflow metadata database: 1 to 55 lowercase letters, digits or _, from a letter (Airflow's "
        "roles are named after it: <dbName>_app owns its schema `airflow`, Airflow logs in as <dbName>_app_g<N>); "
        "for a created database not a PostgreSQL reserved word (select, user, ...) nor rdsadmin, "
        "template0, template1.",
    )
    username: str = key(
        "dbUsername",
        "airflow",
        "Master user name (RDS keeps its password in Secrets Manager; with existingDbHost, an administrator "
        "with CREATEROLE that owns dbName): only the database roles Job connects as it, never Airflow. "
        "Lowercase letters, digits or _ from a letter, 1 to 16 "
        "(RDS's limit; 63 for a brought database); not a PostgreSQL reserved word (user, ...), public, "
        "none, postgres, admin, nor beginning with pg_ or rds.",
    )
    app_password_generation: int = key(
        "dbAppPasswordGeneration",
        0,
        "Generation of Airflow's own database login role and its generated password (0 to 99): Airflow "
        "logs in as <dbName>_app_g<N>. Raising it by one rotates the password without an outage: the "
        "roles Job creates the new login role beside the current one, PgBouncer rolls to it, and the "
        "generation before the current one loses its login (docs/runbook.md, Rotating Airflow's database "
        "password).",
    )
    restore_snapshot_identifier: str = key(
        "dbRestoreSnapshotIdentifier",
        "",
        "Create the database from this RDS snapshot (a name such as airflow-prod-db-final-1a2b3c4d or "
        "rds:airflow-prod-db-2026-12-01-02-05, or a snapshot ARN; encrypted, as the stack's are): the data, "
        "dbName and dbUsername (which must be the snapshot's) and the encryption key are the snapshot's. "
        "On a stack whose database exists, setting or changing it replaces the database: the old one is "
        "deleted first, taking its final snapshot (docs/runbook.md, Restoring the database from a "
        "snapshot). Keep it set afterwards: removing it replaces the database again, empty.",
        only_without="existingDbHost",
    )
    one_key: bool = key(
        "dbOneKey",
        False,
        "One KMS key for everything the database encrypts (storage, snapshots, Performance Insights, the "
        "exported log groups, the master user's secret): the storage key, alias/<stack>-rds, whose policy "
        "then lets CloudWatch Logs use it for those log groups only. false (the default, prod): three keys, "
        "one per store. true saves two keys and their rotations ($6 a month); a live stack moves its logs' "
        "and secret's encryption to the storage key in place (UPGRADING.md).",
        only_without="existingDbHost",
    )
    existing_host: str = key(
        "existingDbHost",
        "",
        "Bring your own PostgreSQL. When set, no RDS instance is created. A host name (RFC 1123) or an IPv4 address.",
    )
    existing_port: int = key(
        "existingDbPort",
        5432,
        "Port of the existing database.",
        only_with="existingDbHost",
    )
    existing_security_group_id: str = key(
        "existingDbSecurityGroupId",
        "",
        "Security group of the existing database; the program admits PgBouncer's nodes (the `db-clients` "
        "group) on its port (optional).",
        only_with="existingDbHost",
    )
    existing_password_set: bool = secret_key(
        "existingDbPassword", only_with="existingDbHost", required_with="existingDbHost"
    )
    """Whether `existingDbPassword` is set (the program reads it itself, as a secret)."""

    @property
    def existing(self) -> bool:
        return bool(self.existing_host)

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])

    def __post_init__(self) -> None:
        if not _DB_INSTANCE_CLASS.fullmatch(self.instance_class):
            raise self.invalid("instance_class", f"'{self.instance_class}' is not an RDS class such as db.r6g.large")
        if not self.existing:  # PgBouncer pools are sized from the class's memory: it must be a known one
            self.check("instance_class", instance_memory_gib, self.instance_class)
        self.check("engine_version", _no_problem, engine_version_problem(self.engine_version))
        self.check("allocated_storage_gib", in_range, self.allocated_storage_gib, 20, 65536)
        # RDS storage autoscaling wants the ceiling at least 10% above the allocated storage.
        if self.max_allocated_storage_gib * 10 < self.allocated_storage_gib * 11:
            raise self.invalid(
                "max_allocated_storage_gib",
                f"{self.max_allocated_storage_gib} is not at least 10% above dbAllocatedStorageGib "
                f"{self.allocated_storage_gib}",
            )
        self.check("max_allocated_storage_gib", in_range, self.max_allocated_storage_gib, 20, 65536)
        self.check("backup_retention_days", in_range, self.backup_retention_days, 1, 35)
        self._check_windows()
        self.check("slow_statement_ms", in_range, self.slow_statement_ms, -1, 3_600_000)
        self.check("app_password_generation", in_range, self.app_password_generation, 0, MAX_GENERATION)
        self._check_names()
        snapshot = self.restore_snapshot_identifier
        if snapshot and not _SNAPSHOT.fullmatch(snapshot):
            raise self.invalid(
                "restore_snapshot_identifier",
                f"'{snapshot}' is not an RDS snapshot identifier (a letter, then letters, digits and single "
                "hyphens, at most 255, not ending with a hyphen; `rds:` before an automated one) nor a snapshot ARN",
            )
        if self.existing:
            self.check("existing_host", host_name, self.existing_host)
            self.check("existing_port", in_range, self.existing_port, 1, 65535)
            if self.existing_security_group_id:
                self.check("existing_security_group_id", ids, "sg", [self.existing_security_group_id])

    def _check_windows(self) -> None:
        """RDS: a daily backup window and a weekly maintenance window, each of 30 minutes or more,
        never overlapping."""
        backup = self.check("backup_window", backup_window, self.backup_window)
        maintenance = self.check("maintenance_window", maintenance_window, self.maintenance_window)
        if windows_overlap(backup, maintenance):
            raise self.invalid(
                "backup_window",
                f"'{self.backup_window}' overlaps dbMaintenanceWindow '{self.maintenance_window}' (RDS refuses "
                "it); move one of them",
            )

    def _check_names(self) -> None:
        """The database and user names RDS (or PostgreSQL, for a brought server) accepts."""
        if not _IDENTIFIER.fullmatch(self.db_name) or len(self.db_name) > LONGEST_DB_NAME:
            raise self.invalid(
                "db_name",
                f"'{self.db_name}' is not 1 to {LONGEST_DB_NAME} lowercase letters, digits or '_' beginning with a "
                "letter (Airflow's roles are named after it)",
            )
        if not self.existing and (self.db_name in RESERVED_WORDS or self.db_name in RDS_DATABASES):
            raise self.invalid(
                "db_name", f"'{self.db_name}' is a PostgreSQL reserved word or a database RDS keeps; choose another"
            )
        longest = 63 if self.existing else MASTER_USER_MAX
        if len(self.username) > longest or not _IDENTIFIER.fullmatch(self.username):
            raise self.invalid(
                "username",
                f"'{self.username}' is not 1 to {longest} lowercase letters, digits or '_' beginning with a letter"
                + ("" if self.existing else " (RDS's limit on the master user name)"),
            )
        self.check("username", _no_problem, role_name_problem(self.username))


def _no_problem(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


@dataclass(frozen=True)
class StorageSettings(Section):
    SECTION: ClassVar[str] = "storage"
    TITLE: ClassVar[str] = "Shared file system"

    transition_to_ia_days: int = key(
        "efsTransitionToIaDays",
        30,
        "Move files to EFS Infrequent Access after this many days (1, 7, 14, 30, 60, 90, 180, 270, 365).",
    )
    backups: bool = key(
        "efsBackups",
        True,
        "AWS Backup of the file system.",
    )

    def __post_init__(self) -> None:
        self.check("transition_to_ia_days", one_of, self.transition_to_ia_days, EFS_TRANSITION_DAYS)
