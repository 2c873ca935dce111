"""Data-tier settings: the metadata database (created or brought) and the shared file system."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from config.checks import Section, ids, in_range, one_of
from lib.postgres import instance_memory_gib

SUPPORTED_POSTGRES_MAJORS = (13, 14, 15, 16, 17)
EFS_TRANSITION_DAYS = (1, 7, 14, 30, 60, 90, 180, 270, 365)
RESERVED_USERNAMES = ("admin", "postgres", "rdsadmin")
_DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_DAY_TIME = r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d"
_MAINTENANCE_WINDOW = re.compile(rf"^{_DAY_TIME}-{_DAY_TIME}$")


@dataclass(frozen=True)
class DatabaseSettings(Section):
    SECTION: ClassVar[str] = "database"

    instance_class: str
    engine_version: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    multi_az: bool
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    performance_insights: bool
    final_snapshot: bool
    retain_automated_backups: bool
    slow_statement_ms: int
    db_name: str
    username: str
    existing_host: str
    """A PostgreSQL server to use instead of creating one; empty: the program creates it."""
    existing_port: int
    existing_security_group_id: str
    existing_password_set: bool
    """Whether `existingDbPassword` is set (the program reads it itself, as a secret)."""

    @property
    def existing(self) -> bool:
        return bool(self.existing_host)

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])

    def __post_init__(self) -> None:
        if not _DB_INSTANCE_CLASS.match(self.instance_class):
            raise self.invalid("instance_class", f"'{self.instance_class}' is not an RDS class such as db.r6g.large")
        if not self.existing:  # PgBouncer pools are sized from the class's memory: it must be a known one
            self.check("instance_class", instance_memory_gib, self.instance_class)
        if not re.match(r"^\d+(\.\d+)?$", self.engine_version) or self.engine_major not in SUPPORTED_POSTGRES_MAJORS:
            raise self.invalid(
                "engine_version",
                f"'{self.engine_version}' is not a PostgreSQL version with major {SUPPORTED_POSTGRES_MAJORS}",
            )
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
        if not _BACKUP_WINDOW.match(self.backup_window):
            raise self.invalid("backup_window", f"'{self.backup_window}' is not hh:mm-hh:mm (UTC)")
        if not _MAINTENANCE_WINDOW.match(self.maintenance_window):
            raise self.invalid("maintenance_window", f"'{self.maintenance_window}' is not ddd:hh:mm-ddd:hh:mm (UTC)")
        self.check("slow_statement_ms", in_range, self.slow_statement_ms, -1, 3_600_000)
        if not _IDENTIFIER.match(self.db_name):
            raise self.invalid("db_name", f"'{self.db_name}' is not a lowercase identifier")
        if not _IDENTIFIER.match(self.username) or self.username in RESERVED_USERNAMES:
            raise self.invalid("username", f"'{self.username}' is reserved or not a lowercase identifier")
        if self.existing:
            if not _HOST.match(self.existing_host):
                raise self.invalid("existing_host", f"'{self.existing_host}' is not a host name")
            self.check("existing_port", in_range, self.existing_port, 1, 65535)
            if self.existing_security_group_id:
                self.check("existing_security_group_id", ids, "sg", [self.existing_security_group_id])


@dataclass(frozen=True)
class StorageSettings(Section):
    SECTION: ClassVar[str] = "storage"

    transition_to_ia_days: int
    backups: bool

    def __post_init__(self) -> None:
        self.check("transition_to_ia_days", one_of, self.transition_to_ia_days, EFS_TRANSITION_DAYS)
