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

GIB = 1024**3
BYTES_PER_CONNECTION = 9_531_392
"""The divisor in RDS's default `max_connections` formula for PostgreSQL."""
MAX_CONNECTIONS_CAP = 5000
"""RDS never defaults `max_connections` above this."""
EXISTING_DATABASE_MAX_CONNECTIONS = 100
"""Assumed for a database the program did not create: PostgreSQL's own default, which any
server accepts at least, so pools sized from it never exhaust the server."""

# Nominal memory (GiB) per size, by family letter: t (burstable t3, t4g), m (general purpose),
# r (memory optimised). Current generations of each family share these sizes.
_MEMORY_GIB: dict[str, dict[str, int]] = {
    "t": {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32},
    "m": {
        "large": 8,
        "xlarge": 16,
        "2xlarge": 32,
        "4xlarge": 64,
        "8xlarge": 128,
        "12xlarge": 192,
        "16xlarge": 256,
        "24xlarge": 384,
        "32xlarge": 512,
    },
    "r": {
        "large": 16,
        "xlarge": 32,
        "2xlarge": 64,
        "4xlarge": 128,
        "8xlarge": 256,
        "12xlarge": 384,
        "16xlarge": 512,
        "24xlarge": 768,
        "32xlarge": 1024,
    },
}
# db.t3 / db.t4g, and m or r from generation 5 on (m5, m6g, m6i, m7g, r5b, r6gd, r7i ...).
_FAMILY = re.compile(r"^(?:(?P<t>t(?:3|4g))|(?P<mr>[mr])(?P<gen>\d+)[a-z]*)$")


def instance_memory_gib(instance_class: str) -> int:
    """Nominal memory of an RDS instance class such as `db.r6g.large`.

    Raises ValueError for a class outside the table."""
    parts = instance_class.split(".")
    match = _FAMILY.match(parts[1]) if len(parts) == 3 and parts[0] == "db" else None
    if match is None or (match["mr"] and int(match["gen"]) < 5):
        raise ValueError(f"'{instance_class}' is of an unknown family; known: db.t3, db.t4g, db.m5+ and db.r5+ classes")
    family = "t" if match["t"] else match["mr"]
    sizes = _MEMORY_GIB[family]
    if parts[2] not in sizes:
        raise ValueError(
            f"'{instance_class}' is of an unknown size '{parts[2]}' for this family; known: {', '.join(sizes)}"
        )
    return sizes[parts[2]]


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
