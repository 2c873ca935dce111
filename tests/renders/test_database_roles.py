"""Airflow's own database roles, on a real PostgreSQL (the machine's, as `make integration` starts
it): the statements the roles Job runs (lib/database/roles.py), run as a master user with RDS's
master's attributes (CREATEROLE, CREATEDB, not a superuser, owner of the database), then what the
login role can and cannot do. `make integration` runs Airflow's own migration as that role."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lib.database.roles import SCHEMA, RolePlan, read_password, redacted, statements
from scripts.integration import PG_BIN, as_unprivileged, free_port, give_away, wait_for

MASTER, MASTER_PASSWORD, DB = "airflow", "Master0Password0Held0By0Rds", "airflow"
PASSWORDS = {0: "Generation0Password0Alnum", 1: "Generation1Password0Alnum", 2: "Gen2 it's 'quoted' \\ too"}


@dataclass
class Server:
    socket_dir: Path
    port: int

    def psql(
        self, user: str, password: str, sql: str, db: str = DB, single: bool = False
    ) -> subprocess.CompletedProcess[str]:
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir)]
        argv += ["-p", str(self.port), "-U", user, "-d", db, *(["-1"] if single else []), "-f", "-"]
        env = {"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}
        return subprocess.run(argv, input=sql, env=env, capture_output=True, text=True, check=False)

    def ok(self, user: str, password: str, sql: str) -> str:
        done = self.psql(user, password, sql)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def refused(self, user: str, password: str, sql: str) -> str:
        done = self.psql(user, password, sql)
        assert done.returncode != 0, f"{sql!r} ran as {user}"
        return done.stderr

    def apply(self, plan: RolePlan, password: str) -> None:
        """What the Job does: every statement as the master, in one transaction."""
        script = "".join(f"{sql};\n" for sql in statements(plan, password))
        done = self.psql(MASTER, MASTER_PASSWORD, script, single=True)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    tmp = Path(tempfile.mkdtemp(prefix="db-roles-"))
    tmp.chmod(0o755)
    give_away(tmp)
    data, port = tmp / "pgdata", free_port()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--auth-local=trust"]
    subprocess.run(as_unprivileged(initdb), check=True, capture_output=True)
    (data / "pg_hba.conf").write_text("local all postgres trust\nlocal all all scram-sha-256\n")
    flags = ["-c", "listen_addresses=", "-c", f"port={port}", "-c", f"unix_socket_directories={tmp}"]
    flags += ["-c", "password_encryption=scram-sha-256"]
    log = (tmp / "postgres.log").open("wb")
    proc = subprocess.Popen(
        as_unprivileged([str(PG_BIN / "postgres"), "-D", str(data), *flags]), stdout=log, stderr=log
    )
    try:
        wait_for(lambda: subprocess.run(["pg_isready", "-q", "-h", str(tmp), "-p", str(port)]).returncode == 0)
        s = Server(tmp, port)
        # RDS's master: CREATEROLE and CREATEDB, not a superuser; the database is its.
        setup = f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}';\n"
        setup += f"CREATE DATABASE {DB} OWNER {MASTER};\n"
        done = s.psql("postgres", "", setup, db="postgres")
        assert done.returncode == 0, done.stderr
        yield s
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


@pytest.fixture(scope="module")
def migrated(server: Server) -> Server:
    """A stack of 0.1.0: Airflow ran as the master, its tables in `public`; a schema of someone
    else's beside it. Then the Job's first run (generation 0), twice (it is idempotent)."""
    server.ok(
        MASTER,
        MASTER_PASSWORD,
        "CREATE TYPE public.state AS ENUM ('queued', 'running');\n"
        "CREATE TABLE public.dag_run (id serial PRIMARY KEY, state public.state, note text);\n"
        "CREATE INDEX dag_run_state ON public.dag_run (state);\n"
        "CREATE SEQUENCE public.standalone_seq;\n"
        "CREATE VIEW public.running AS SELECT id FROM public.dag_run WHERE state = 'running';\n"
        "INSERT INTO public.dag_run (state, note) VALUES ('queued', 'kept across the move');\n"
        "CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY);\n"
        "CREATE SCHEMA reporting;\n"
        "CREATE TABLE reporting.finance (secret text);\n"
        "INSERT INTO reporting.finance VALUES ('not for Airflow');\n",
    )
    plan = RolePlan(MASTER, DB, 0)
    server.apply(plan, PASSWORDS[0])
    server.apply(plan, PASSWORDS[0])
    return server


LOGIN0 = "airflow_app_g0"


def test_airflow_runs_as_the_owner_in_its_schema(migrated: Server) -> None:
    row = migrated.ok(LOGIN0, PASSWORDS[0], "SELECT session_user, current_user, current_schema();")
    assert row == "airflow_app_g0|airflow_app|airflow"


def test_the_tables_of_0_1_0_moved_into_the_schema_with_their_data_and_belong_to_the_owner(migrated: Server) -> None:
    owners = migrated.ok(
        MASTER,
        MASTER_PASSWORD,
        "SELECT n.nspname || '.' || c.relname || '=' || pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'airflow') ORDER BY 1;",
    )
    assert owners.splitlines() == [
        "airflow.alembic_version=airflow_app",
        "airflow.alembic_version_pkey=airflow_app",
        "airflow.dag_run=airflow_app",
        "airflow.dag_run_id_seq=airflow_app",
        "airflow.dag_run_pkey=airflow_app",
        "airflow.dag_run_state=airflow_app",
        "airflow.running=airflow_app",
        "airflow.standalone_seq=airflow_app",
    ]
    types = migrated.ok(
        MASTER,
        MASTER_PASSWORD,
        "SELECT 'airflow.state'::regtype::oid::regtype, "
        "pg_get_userbyid(typowner) FROM pg_type WHERE oid = 'airflow.state'::regtype;",
    )
    assert types == "state|airflow_app"  # search_path of the master is "$user", public: shown unqualified
    assert migrated.ok(LOGIN0, PASSWORDS[0], "SELECT note FROM dag_run;") == "kept across the move"
    schema_owner = migrated.ok(
        MASTER, MASTER_PASSWORD, f"SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '{SCHEMA}';"
    )
    assert schema_owner == "airflow_app"


def test_the_login_role_migrates_like_airflow(migrated: Server) -> None:
    """DDL an Alembic migration runs, on the tables of 0.1.0 and new ones; each new object the owner's."""
    migrated.ok(
        LOGIN0,
        PASSWORDS[0],
        "ALTER TABLE dag_run ADD COLUMN run_after timestamptz;\n"
        "ALTER TYPE state ADD VALUE 'success';\n"
        "CREATE TABLE task_instance (id bigserial PRIMARY KEY, dag_run_id int REFERENCES dag_run (id));\n"
        "CREATE INDEX ti_run ON task_instance (dag_run_id);\n"
        "UPDATE alembic_version SET version_num = 'abc';\n"
        "INSERT INTO alembic_version VALUES ('first');\n"
        "DROP VIEW running;\n"
        "ALTER TABLE dag_run RENAME COLUMN note TO conf;\n"
        "SELECT pg_advisory_lock(1); SELECT pg_advisory_unlock(1);\n",
    )
    owner = migrated.ok(
        MASTER, MASTER_PASSWORD, "SELECT relowner::regrole FROM pg_class WHERE oid = 'airflow.task_instance'::regclass;"
    )
    assert owner == "airflow_app"


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT * FROM reporting.finance;", "permission denied for schema reporting"),
        ("CREATE ROLE intruder LOGIN;", "permission denied to create role"),
        ("CREATE DATABASE other;", "permission denied to create database"),
        ("CREATE SCHEMA mine;", "permission denied for database airflow"),
        ("CREATE TABLE public.sneaky (x int);", "permission denied for schema public"),
        ("ALTER ROLE airflow_app_g0 CREATEROLE;", "permission denied"),
        ("SET ROLE airflow;", "permission denied to set role"),
    ],
)
def test_the_login_role_reads_no_other_schema_and_makes_no_role(migrated: Server, sql: str, error: str) -> None:
    assert error in migrated.refused(LOGIN0, PASSWORDS[0], sql)


def test_the_owner_role_cannot_log_in(migrated: Server) -> None:
    assert "password authentication failed" in migrated.refused("airflow_app", PASSWORDS[0], "SELECT 1;")


def test_a_new_generation_logs_in_while_the_previous_still_does_then_the_one_before_is_retired(
    migrated: Server,
) -> None:
    migrated.apply(RolePlan(MASTER, DB, 1), PASSWORDS[1])
    # PgBouncer's old pods (generation 0) and new ones (1) both log in while they roll.
    assert migrated.ok(LOGIN0, PASSWORDS[0], "SELECT current_user;") == "airflow_app"
    assert migrated.ok("airflow_app_g1", PASSWORDS[1], "SELECT current_user, count(*) FROM dag_run;") == "airflow_app|1"
    migrated.apply(RolePlan(MASTER, DB, 2), PASSWORDS[2])
    assert "password authentication failed" in migrated.refused(LOGIN0, PASSWORDS[0], "SELECT 1;")
    assert migrated.ok("airflow_app_g1", PASSWORDS[1], "SELECT 1;") == "1"
    assert migrated.ok("airflow_app_g2", PASSWORDS[2], "SELECT current_user;") == "airflow_app"
    attributes = migrated.ok(
        MASTER,
        MASTER_PASSWORD,
        "SELECT rolname, rolcanlogin, rolcreaterole, rolcreatedb, rolsuper FROM pg_roles "
        "WHERE rolname LIKE 'airflow_app%' ORDER BY 1;",
    )
    assert attributes.splitlines() == [
        "airflow_app|f|f|f|f",
        "airflow_app_g0|f|f|f|f",
        "airflow_app_g1|t|f|f|f",
        "airflow_app_g2|t|f|f|f",
    ]


def test_a_fresh_database_gets_the_same_roles_and_an_empty_schema(server: Server) -> None:
    done = server.psql("postgres", "", f"CREATE DATABASE fresh OWNER {MASTER};", db="postgres")
    assert done.returncode == 0, done.stderr
    script = "".join(f"{sql};\n" for sql in statements(RolePlan(MASTER, "fresh", 0), PASSWORDS[0]))
    done = server.psql(MASTER, MASTER_PASSWORD, script, db="fresh", single=True)
    assert done.returncode == 0, done.stderr
    row = server.psql("fresh_app_g0", PASSWORDS[0], "SELECT current_user, current_schema();", db="fresh")
    assert row.stdout.strip() == "fresh_app|airflow"


def test_the_job_never_logs_the_password() -> None:
    plan = RolePlan(MASTER, DB, 2)
    logged = [redacted(sql, PASSWORDS[2]) for sql in statements(plan, PASSWORDS[2])]
    assert sum("PASSWORD '***'" in line for line in logged) == 1
    assert not any("Gen2" in line for line in logged)


def test_the_job_reads_the_password_file_as_written_and_refuses_an_empty_one(tmp_path: Path) -> None:
    """The Job's Secret mounted as a file (lib/database/roles_job.py): the whole value, spaces and
    quotes included; an empty file stops the Job before it connects."""
    (tmp_path / "app-password").write_text(PASSWORDS[2])
    assert read_password(str(tmp_path / "app-password")) == PASSWORDS[2]
    (tmp_path / "empty").write_text("")
    with pytest.raises(SystemExit, match=r"DB_APP_PASSWORD_FILE: .*/empty is empty"):
        read_password(str(tmp_path / "empty"))
