"""The client side of `make integration`'s steps, run inside Airflow's virtualenv (.venv-airflow).

Airflow's own configuration comes from the environment scripts/integration.py sets
(`AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`: the pods' connection string, pointed at the local PgBouncer).

    python scripts/integration_probes.py sqlalchemy | asyncpg | scram URI | stats URI | refused LOG
    python scripts/integration_probes.py config VALUES_CONFIG_JSON | admin   (with AIRFLOW_CONFIG set)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections import Counter

ASYNC_CALLS = 300
ASYNC_SESSIONS = 48
"""More than the generated metadata pool's 36 server connections (100 max_connections, 2 replicas):
PgBouncer then hands a client's transactions to other servers, where its statements are unknown."""
REFUSED_WAIT_SECONDS = 8


def sqlalchemy_round_trip() -> None:
    """As Airflow's components use the database: settings.engine, a session, an ORM query."""
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from sqlalchemy import text

    settings.configure_orm()
    with settings.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    with settings.Session() as session:
        session.query(DagRun).count()
        version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    print(f"alembic version {version}")


def asyncpg_round_trip() -> None:
    """Airflow's async URI (asyncpg, built by Airflow from the same connection string), in an
    AsyncSession per call on ASYNC_SESSIONS connections; asyncpg prepares every statement."""
    from airflow import settings
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    settings.configure_orm()
    engine = create_async_engine(settings.SQL_ALCHEMY_CONN_ASYNC, pool_size=ASYNC_SESSIONS, max_overflow=0)

    async def call(i: int, gate: asyncio.Semaphore) -> str:
        async with gate, AsyncSession(engine) as session:
            try:
                value = (await session.execute(text("SELECT CAST(:i AS integer) + 1"), {"i": i})).scalar()
                return "ok" if value == i + 1 else f"wrong value {value}"
            except Exception as error:  # counted, then reported
                return f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"

    async def calls() -> list[str]:
        gate = asyncio.Semaphore(ASYNC_SESSIONS)
        results = await asyncio.gather(*(call(i, gate) for i in range(ASYNC_CALLS)))
        await engine.dispose()
        return results

    outcomes = Counter(asyncio.run(calls()))
    print(dict(outcomes))
    if outcomes["ok"] != ASYNC_CALLS:
        raise SystemExit(f"{ASYNC_CALLS - outcomes['ok']} of {ASYNC_CALLS} asyncpg calls failed")


def refused(pgbouncer_log: str) -> None:
    """PgBouncer must not serve a query from a server whose certificate does not name the host it
    dialled: the query fails, or waits (PgBouncer retries the server login until its
    `query_wait_timeout`) for REFUSED_WAIT_SECONDS; scripts/integration.py also reads the log."""
    import threading

    from airflow import settings
    from sqlalchemy import text

    settings.configure_orm()
    outcome: list[str] = []

    def query() -> None:
        try:
            with settings.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            outcome.append("served")
        except Exception as error:
            outcome.append(f"refused: {str(error).splitlines()[0]}")

    worker = threading.Thread(target=query, daemon=True)
    worker.start()
    worker.join(REFUSED_WAIT_SECONDS)
    print(outcome[0] if outcome else f"not served within {REFUSED_WAIT_SECONDS} s")
    if outcome == ["served"]:
        raise SystemExit("PgBouncer reached a server whose certificate does not match its host name")
    with open(pgbouncer_log) as log:
        if "TLS handshake error" not in log.read():
            raise SystemExit(f"no TLS handshake error in {pgbouncer_log}")
    sys.stdout.flush()
    os._exit(0)  # the waiting query's thread holds the interpreter otherwise


def scram(uri: str) -> None:
    """The pods' connection string, with libpq refusing anything but SCRAM from PgBouncer."""
    import psycopg2

    with psycopg2.connect(uri, require_auth="scram-sha-256") as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")


def stats(uri: str) -> None:
    """The exporter's login (lib/pq sends `extra_float_digits` at startup, which PgBouncer must be
    told to ignore) and its query, on the admin console (simple protocol only)."""
    import asyncpg
    import psycopg2

    async def exporter_login() -> None:
        conn = await asyncpg.connect(uri, server_settings={"extra_float_digits": "2"}, statement_cache_size=0)
        await conn.execute("SHOW STATS")
        await conn.close()

    asyncio.run(exporter_login())
    conn = psycopg2.connect(uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SHOW STATS")
        databases = [row[0] for row in cur.fetchall()]
    conn.close()
    print(f"SHOW STATS: {databases}")
    assert any(name.endswith("-metadata") for name in databases), databases


def admin() -> None:
    """The user the admin-user Job created (lib/airflow/values.py ADMIN_USERNAME), with the Admin role."""
    listed = airflow_cli("users", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    (table,) = [line for line in listed.stdout.splitlines() if line.startswith("[{")]  # after the log lines
    users = json.loads(table)
    print(users)
    assert [(u["username"], u["roles"]) for u in users] == [("admin", ["Admin"])], users


LOCK_REFUSED = "LockNotAvailable"


def concurrent_migrations() -> None:
    """Two `airflow db migrate` at once (a migration Job re-created while one still runs). Airflow
    3.3.2 serialises them on a PostgreSQL advisory lock whose wait is `lock_timeout` 1800, which
    PostgreSQL reads as milliseconds (utils/db.py `create_global_lock`; so in 3.0.2 too), and 3.3's
    locked section outlasts 1.8 s: the second may give up with `LockNotAvailable` instead of
    waiting. What must hold: one succeeds, any other fails only on that lock and succeeds when run
    again (the chart's Job restarts `OnFailure`), and the schema is then at its head."""
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    runs = [subprocess.Popen([airflow, "db", "migrate"], **pipes) for _ in range(2)]  # type: ignore[call-overload]
    outputs = [run.communicate()[0] for run in runs]  # both run meanwhile; read without filling a pipe
    results = [(run.returncode, output) for run, output in zip(runs, outputs, strict=True)]
    codes = [code for code, _ in results]
    print(f"exit codes {codes}")
    assert 0 in codes, results[0][1][-3000:]
    for code, output in results:
        if code != 0:
            assert LOCK_REFUSED in output, output[-3000:]
            print("refused on the migration lock; run again (as the Job's restart would):")
            again = airflow_cli("db", "migrate")
            assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    at_head = airflow_cli("db", "check-migrations", "--migration-wait-timeout=1")
    assert at_head.returncode == 0, at_head.stderr[-3000:]
    print("schema at head")


def airflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    return subprocess.run([airflow, *args], capture_output=True, text=True)


LINT_CLEAN = "No issues found in your airflow.cfg"
LINT_EXPLAINED = {
    "Changed default value of `executor` in `core` from `SequentialExecutor` to `LocalExecutor`. "
    "You currently have `KubernetesExecutor` set.": ("executor", ""),
    "`enable_proxy_fix` configuration parameter moved from `webserver` section to `fab` section as "
    "`enable_proxy_fix`.": ("", "webserver"),
}
"""What 3.3.2's lint says of every chart-rendered airflow.cfg, and why neither is wrong: the first
is a notice for any executor but the new default (ours is the KubernetesExecutor on purpose); the
second is the chart's own `[webserver]` default, a section 3.3 no longer has, beside the
`[fab] enable_proxy_fix = True` it also writes, which Airflow reads (checked below). Helm values
cannot delete a chart default from Pulumi's Python SDK (it drops `None`, pulumi/pulumi#12178)."""


def lint(*ignore: str) -> subprocess.CompletedProcess[str]:
    return airflow_cli("config", "lint", *ignore)


def config(values_config: str) -> None:
    """The chart-rendered airflow.cfg in `AIRFLOW_CONFIG`, as Airflow 3.3.2 reads it: `airflow
    config lint` (its check for removed, renamed and re-defaulted options) finds nothing but the
    two explained notices, and nothing at all once they are set aside; every option the program
    sets is one this Airflow and its providers know, and Airflow reads the value the program set.
    Options only the chart writes that Airflow does not know (Celery's, `[webserver]`, ...) are
    listed, not failed: the chart writes them for every executor and version."""
    full = lint()
    print(full.stdout.strip())
    listed = [line.strip() for line in full.stdout.splitlines()]
    issues = {line.removeprefix("- ").strip() for line in listed if line.startswith("- ")}
    assert full.returncode == 0 and issues == set(LINT_EXPLAINED), f"lint: {sorted(issues)} {full.stderr[-2000:]}"
    options = ",".join(sorted({o for o, _ in LINT_EXPLAINED.values() if o}))
    sections = ",".join(sorted({s for _, s in LINT_EXPLAINED.values() if s}))
    rest = lint("--ignore-option", options, "--ignore-section", sections)
    print(rest.stdout.strip())
    assert rest.returncode == 0 and LINT_CLEAN in rest.stdout and "Found issues" not in rest.stdout, rest.stdout

    from airflow.configuration import conf

    assert conf.getboolean("fab", "enable_proxy_fix") is True  # where 3.x reads it
    known = conf.configuration_description
    with open(values_config) as file:
        ours = json.load(file)
    unknown = [f"[{s}] {o}" for s, opts in ours.items() for o in opts if o not in known.get(s, {}).get("options", {})]
    assert not unknown, f"options the program sets that Airflow does not know: {unknown}"
    differing = {
        f"[{s}] {o}": (conf.get(s, o), str(v))
        for s, opts in ours.items()
        for o, v in opts.items()
        if conf.get(s, o) != str(v)
    }
    assert not differing, f"(read, set): {differing}"
    chart_only = sorted(
        f"[{s}] {o}"
        for s in conf.sections()
        for o in conf.options(s)
        if o not in ours.get(s, {}) and o not in known.get(s, {}).get("options", {}) and conf.has_option(s, o)
    )
    print(f"{sum(len(o) for o in ours.values())} options set by the program: all known to Airflow, all read back")
    print(f"written by the chart alone, unknown to this Airflow (unread): {chart_only}")


if __name__ == "__main__":
    probes = {
        "sqlalchemy": sqlalchemy_round_trip,
        "asyncpg": asyncpg_round_trip,
        "admin": admin,
        "concurrent-migrate": concurrent_migrations,
    }
    uri_probes = {"scram": scram, "stats": stats, "refused": refused, "config": config}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe", choices=[*probes, *uri_probes])
    parser.add_argument("argument", nargs="?", help="the URI, log file or values JSON the probe takes")
    args = parser.parse_args()
    if args.probe in uri_probes:
        if args.argument is None:
            parser.error(f"{args.probe} takes an argument")
        uri_probes[args.probe](args.argument)
    else:
        probes[args.probe]()
