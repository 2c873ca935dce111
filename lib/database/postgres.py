"""PostgreSQL facts the program derives from settings, without Pulumi.

`max_connections` is what RDS sets by default for PostgreSQL:
`LEAST({DBInstanceClassMemory/9531392}, 5000)`. RDS computes it from the memory left to the
engine, a little less than the class's nominal memory; this module uses the nominal memory,
so its value is an upper bound that is a few percent high: size connection pools with
headroom below it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

RDS_POSTGRES_MINORS = {13: (1, 23), 14: (1, 22), 15: (2, 17), 16: (1, 13), 17: (1, 9)}
"""The minor versions RDS for PostgreSQL has released of each major the program supports, first to
last (`13: (1, 23)`: 13.1 to 13.23): aws-cdk-lib's `PostgresEngineVersion` (aws/aws-cdk,
packages/aws-cdk-lib/aws-rds/lib/instance-engine.ts, the revision whose newest are 13.23, 14.22,
15.17, 16.13, 17.9 and 18.3, read 2026-12-07), which lists what `aws rds
describe-db-engine-versions` has offered. RDS's notice of 2026-05 (minors 14.14-14.17, 15.9-15.12,
16.5-16.8, 17.1-17.4 at end of standard support, upgraded to 14.20, 15.15, 16.11, 17.7 or later)
agrees. Some early minors can no longer be created; RDS says so at `pulumi up`."""


def engine_version_problem(version: str) -> str | None:
    """Why `version` (a major, or major.minor) is not an RDS for PostgreSQL version, or None."""
    major, _, minor = version.partition(".")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", version) or int(major) not in RDS_POSTGRES_MINORS:
        return f"'{version}' is not a PostgreSQL version with major {tuple(RDS_POSTGRES_MINORS)}"
    first, last = RDS_POSTGRES_MINORS[int(major)]
    if minor and not first <= int(minor) <= last:
        return (
            f"'{version}' is not a release of RDS for PostgreSQL {major}, which has {major}.{first} to "
            f"{major}.{last}; give the major alone ({major}) for RDS's default minor"
        )
    return None


GIB = 1024**3
BYTES_PER_CONNECTION = 9_531_392
"""The divisor in RDS's default `max_connections` formula for PostgreSQL."""
MAX_CONNECTIONS_CAP = 5000
"""RDS never defaults `max_connections` above this."""
EXISTING_DATABASE_MAX_CONNECTIONS = 100
"""Assumed for a database the program did not create: PostgreSQL's own default, which any
server accepts at least, so pools sized from it never exhaust the server."""

# Nominal memory (GiB) per size, by family letter: t (burstable), m (general purpose, 4 GiB a
# vCPU), r (memory optimised, 8 GiB a vCPU).
_T_MEMORY = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_VCPUS = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}
_VCPUS_24 = {**_VCPUS, "24xlarge": 96}
_VCPUS_32 = {**_VCPUS_24, "32xlarge": 128}
_VCPUS_48 = {**_VCPUS_24, "48xlarge": 192}
# The RDS for PostgreSQL classes of each family, written here because the provider SDK's
# `rds.InstanceType` enum is out of date (see lib/aws_catalog.py): a class outside this table is
# refused, even one that only looks right (db.m99.large). Largest sizes by generation: Graviton2
# and 3 (m6g, r7g...) 16xlarge; m5/r5 24xlarge; 6th-generation Intel (m6i, r6id...) 32xlarge;
# m7i/r7i and Graviton4 (m8g, r8gd) 24xlarge and 48xlarge.
_SIZES_BY_FAMILY: dict[str, dict[str, int]] = {
    **dict.fromkeys(("m6g", "m6gd", "m7g", "r6g", "r6gd", "r7g"), _VCPUS),
    **dict.fromkeys(("m5", "m5d", "r5", "r5b", "r5d"), _VCPUS_24),
    **dict.fromkeys(("m6i", "m6id", "m6in", "m6idn", "r6i", "r6id", "r6in", "r6idn"), _VCPUS_32),
    **dict.fromkeys(("m7i", "m8g", "m8gd", "r7i", "r8g", "r8gd"), _VCPUS_48),
}
_GIB_PER_VCPU = {"m": 4, "r": 8}
RDS_FAMILIES = ("t3", "t4g", *_SIZES_BY_FAMILY)


def instance_memory_gib(instance_class: str) -> int:
    """Nominal memory of an RDS for PostgreSQL instance class such as `db.r6g.large`.

    Raises ValueError for a class outside the table (`RDS_FAMILIES`)."""
    parts = instance_class.split(".")
    family = parts[1] if len(parts) == 3 and parts[0] == "db" else ""
    if family in ("t3", "t4g"):
        sizes, per_vcpu = _T_MEMORY, 0
    elif family in _SIZES_BY_FAMILY:
        sizes, per_vcpu = _SIZES_BY_FAMILY[family], _GIB_PER_VCPU[family[0]]
    else:
        raise ValueError(
            f"'{instance_class}' is of an unknown family; known RDS for PostgreSQL families: "
            f"{', '.join('db.' + f for f in RDS_FAMILIES)}"
        )
    if parts[2] not in sizes:
        raise ValueError(
            f"'{instance_class}' is of an unknown size '{parts[2]}' for db.{family}; known: {', '.join(sizes)}"
        )
    return sizes[parts[2]] * per_vcpu if per_vcpu else sizes[parts[2]]


def max_connections(instance_class: str) -> int:
    """RDS's default `max_connections` for PostgreSQL on `instance_class` (see module docstring)."""
    return min(instance_memory_gib(instance_class) * GIB // BYTES_PER_CONNECTION, MAX_CONNECTIONS_CAP)


def running_max_connections(configured_class: str, running_class: str) -> int:
    """`max_connections` that holds whichever of two classes runs: while a class change waits for
    the maintenance window, RDS runs `running_class` and will run `configured_class`. A running
    class outside the table (changed by hand) counts as the configured one."""
    try:
        running = max_connections(running_class)
    except ValueError:
        running = max_connections(configured_class)
    return min(max_connections(configured_class), running)


def connection_uri(username: str, password: str, host: str, port: int, db_name: str) -> str:
    """`postgresql://user:password@host:port/db?sslmode=require`; user, password and database are
    percent-encoded (a password you bring may hold any character)."""
    user, secret, db = (quote(v, safe="") for v in (username, password, db_name))
    return f"postgresql://{user}:{secret}@{host}:{port}/{db}?sslmode=require"


def server_parameters(slow_statement_ms: int) -> dict[str, str]:
    """The parameter group's values, all dynamic (applied without a reboot): TLS required, slow
    statements, connections and lock waits logged."""
    return {
        "rds.force_ssl": "1",
        "log_min_duration_statement": str(slow_statement_ms),
        "log_connections": "1",
        "log_disconnections": "1",
        "log_lock_waits": "1",
    }


# PostgreSQL's reserved key words (its documentation's appendix "SQL Key Words": "reserved" and
# "reserved (can be function or type)"), which RDS refuses as a master user or database name
# ("can't be a word reserved by the database engine"); none can be a role name unquoted.
_KEY_WORDS = """all analyse analyze and any array as asc asymmetric authorization binary both case cast check
    collate collation column concurrently constraint create cross current_catalog current_date
    current_role current_schema current_time current_timestamp current_user default deferrable desc
    distinct do else end except false fetch for foreign freeze from full grant group having ilike in
    initially inner intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
    references returning right select session_user similar some symmetric system_user table
    tablesample then to trailing true union unique user using variadic verbose when where window
    with"""
RESERVED_WORDS = frozenset(_KEY_WORDS.split())
RESERVED_ROLES = frozenset({"public", "none", "postgres", "admin"})
"""PostgreSQL refuses `public` and `none` as role names; `postgres` and `admin` are refused here
as the names of a server's (or a console's) administrator, never Airflow's user."""
RESERVED_ROLE_PREFIXES = ("pg_", "rds")
"""PostgreSQL keeps `pg_` for its predefined roles (pg_monitor, ...); RDS's own roles all begin
with `rds` (rdsadmin, rdsrepladmin, rdstopmgr, rds_superuser, rds_iam, ...)."""
RDS_DATABASES = frozenset({"rdsadmin", "template0", "template1"})
"""Databases every RDS for PostgreSQL instance already holds."""


def role_name_problem(name: str) -> str | None:
    """Why `name` cannot be Airflow's database user, or None."""
    if name in RESERVED_WORDS:
        return f"'{name}' is a PostgreSQL reserved word, which RDS refuses as a user name"
    if name in RESERVED_ROLES or name.startswith(RESERVED_ROLE_PREFIXES):
        return (
            f"'{name}' is reserved: not {', '.join(sorted(RESERVED_ROLES))}, nor a name beginning with "
            f"{' or '.join(RESERVED_ROLE_PREFIXES)} (PostgreSQL's and RDS's own roles)"
        )
    return None


WEEK_MINUTES = 7 * 24 * 60
MIN_WINDOW_MINUTES = 30
"""RDS: the backup and the maintenance window each last at least 30 minutes."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"([01][0-9]|2[0-3]):([0-5][0-9])"  # [0-9], not \d: no other script's digits
_BACKUP_WINDOW = re.compile(rf"{_CLOCK}-{_CLOCK}")
_MAINTENANCE_WINDOW = re.compile(rf"({'|'.join(DAYS)}):{_CLOCK}-({'|'.join(DAYS)}):{_CLOCK}")


def backup_window(window: str) -> tuple[int, int]:
    """RDS's daily `hh24:mi-hh24:mi` (UTC) as (start minute of the day, length in minutes); it may
    run past midnight. Raises ValueError unless it lasts 30 minutes or more."""
    match = _BACKUP_WINDOW.fullmatch(window)
    if match is None:
        raise ValueError(f"'{window}' is not hh24:mi-hh24:mi (UTC), such as 02:00-03:00")
    start, end = (int(match[i]) * 60 + int(match[i + 1]) for i in (1, 3))
    return start, _long_enough(window, (end - start) % (24 * 60))


def maintenance_window(window: str) -> tuple[int, int]:
    """RDS's weekly `ddd:hh24:mi-ddd:hh24:mi` (UTC) as (start minute of the week from Monday 00:00,
    length in minutes). Raises ValueError unless it lasts 30 minutes or more."""
    match = _MAINTENANCE_WINDOW.fullmatch(window)
    if match is None:
        raise ValueError(f"'{window}' is not ddd:hh24:mi-ddd:hh24:mi (UTC, ddd one of {', '.join(DAYS)})")
    start, end = (DAYS.index(match[i]) * 1440 + int(match[i + 1]) * 60 + int(match[i + 2]) for i in (1, 4))
    return start, _long_enough(window, (end - start) % WEEK_MINUTES)


def _long_enough(window: str, minutes: int) -> int:
    if minutes < MIN_WINDOW_MINUTES:
        raise ValueError(f"'{window}' lasts {minutes} minutes; RDS wants at least {MIN_WINDOW_MINUTES}")
    return minutes


def windows_overlap(backup: tuple[int, int], maintenance: tuple[int, int]) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day (windows that
    only touch do not overlap)."""
    m_start, m_length = maintenance
    for day in range(7):
        b_start, b_length = (day * 1440 + backup[0]) % WEEK_MINUTES, backup[1]
        if (b_start - m_start) % WEEK_MINUTES < m_length or (m_start - b_start) % WEEK_MINUTES < b_length:
            return True
    return False
