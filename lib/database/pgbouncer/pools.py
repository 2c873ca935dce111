"""PgBouncer between Airflow and PostgreSQL: pool sizes and the files the program writes for it.

Plain Python, no Pulumi. The Airflow component writes `pgbouncer.ini` and `users.txt` into a
Kubernetes Secret that the chart mounts (`pgbouncer.configSecretName`), so the database password
never enters the Helm values; the chart's own pool values are then unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lib.database.pgbouncer.tls import server_tls_settings

PGBOUNCER_PORT = 6543  # the chart's `ports.pgbouncer`
MAX_PREPARED_STATEMENTS = 200
"""Protocol-level prepared statements PgBouncer (>= 1.21; the chart's image is 1.23.1) tracks per
server connection, so clients that prepare every statement (asyncpg, Airflow's async engine)
work in transaction mode; without it they fail with `prepared statement ... does not exist`."""
DB_HEADROOM_PERCENT = 20
"""Share of the server's max_connections PgBouncer never uses: superuser slots, migrations,
an operator's psql, and a PgBouncer pod surging during a rolling update."""


def pgbouncer_service_host(namespace: str, release: str) -> str:
    """The chart's PgBouncer Service, inside the cluster."""
    return f"{release}-pgbouncer.{namespace}"


@dataclass(frozen=True)
class PgBouncerPools:
    """Per PgBouncer replica."""

    max_client_conn: int
    metadata_pool_size: int
    result_backend_pool_size: int


def pgbouncer_pools(max_connections: int, replicas: int) -> PgBouncerPools:
    """Pool sizes that keep every PgBouncer replica together within the database's budget.

    budget      = max_connections * (100 - DB_HEADROOM_PERCENT) / 100      (rounded down)
    per replica = budget // replicas
    result backend pool = max(1, per replica // 10)   (Celery only: barely used here)
    metadata pool       = per replica - result backend pool
    max_client_conn     = max(100, 2 * per replica)   (clients queue in PgBouncer; the
                          transaction pool multiplexes them onto the server connections)
    So replicas * (metadata + result backend) <= budget < max_connections.
    """
    if replicas < 1:
        raise ValueError(f"pgbouncer replicas {replicas} is not positive")
    budget = max_connections * (100 - DB_HEADROOM_PERCENT) // 100
    per_replica = budget // replicas
    result_backend = max(1, per_replica // 10)
    metadata = per_replica - result_backend
    if metadata < 1:
        raise ValueError(f"max_connections {max_connections} leaves no metadata pool for {replicas} PgBouncer replicas")
    return PgBouncerPools(
        max_client_conn=max(100, 2 * per_replica),
        metadata_pool_size=metadata,
        result_backend_pool_size=result_backend,
    )


@dataclass(frozen=True)
class DatabaseUri:
    """The parts of `postgresql://user:password@host:port/db?...` (user and password decoded)."""

    username: str
    password: str
    host: str
    port: int
    dbname: str
    userinfo: str
    """`user:password` exactly as written in the URI (percent-encoded)."""


def parse_database_uri(uri: str) -> DatabaseUri:
    parts = urlsplit(uri)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or parts.username is None:
        raise ValueError("the metadata connection is not a postgresql://user:password@host/db URI")
    return DatabaseUri(
        username=unquote(parts.username),
        password=unquote(parts.password or ""),
        host=parts.hostname,
        port=parts.port or 5432,
        dbname=unquote(parts.path.lstrip("/")),
        userinfo=parts.netloc.rsplit("@", 1)[0],
    )


def pgbouncer_client_uri(db: DatabaseUri, namespace: str, release: str) -> str:
    """What Airflow connects to: PgBouncer's metadata pool, inside the cluster."""
    return (
        f"postgresql://{db.userinfo}@{pgbouncer_service_host(namespace, release)}:{PGBOUNCER_PORT}/{release}-metadata"
    )


def pgbouncer_stats_uri(db: DatabaseUri) -> str:
    """What the metrics exporter sidecar connects to: PgBouncer's admin console, same pod."""
    return f"postgresql://{db.userinfo}@127.0.0.1:{PGBOUNCER_PORT}/pgbouncer?sslmode=disable"


def pgbouncer_ini(db: DatabaseUri, pools: PgBouncerPools, release: str) -> str:
    """`pgbouncer.ini`, as the chart would render it, with TLS required towards the database and
    verified where the RDS bundle can (`lib/database/pgbouncer/tls.py`)."""
    target = f"host={db.host} port={db.port} dbname={db.dbname}"
    return "\n".join(
        [
            "[databases]",
            f"{release}-metadata = {target} pool_size={pools.metadata_pool_size}",
            f"{release}-result-backend = {target} pool_size={pools.result_backend_pool_size}",
            "",
            "[pgbouncer]",
            "pool_mode = transaction",
            f"listen_port = {PGBOUNCER_PORT}",
            "listen_addr = *",
            "auth_type = scram-sha-256",
            "auth_file = /etc/pgbouncer/users.txt",
            f"stats_users = {db.username}",
            "ignore_startup_parameters = extra_float_digits",
            f"max_client_conn = {pools.max_client_conn}",
            "verbose = 0",
            "log_disconnections = 0",
            "log_connections = 0",
            f"max_prepared_statements = {MAX_PREPARED_STATEMENTS}",
            *server_tls_settings(db.host),
            "",
        ]
    )


def pgbouncer_users(db: DatabaseUri) -> str:
    """`users.txt`: the database user and password, quoted as PgBouncer's auth file wants."""

    def quote(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    return f"{quote(db.username)} {quote(db.password)}\n"
