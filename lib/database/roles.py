"""Airflow's own database roles: what the program's roles Job runs as the database's master user.

Airflow never connects as the master user. It logs in (through PgBouncer) as a login role of the
current generation, `<db>_app_g<N>`, whose every session runs as the owner role `<db>_app`
(`ALTER ROLE ... IN DATABASE ... SET role`): every object Airflow's migrations create belongs to
that owner, whichever generation made it. The owner is NOLOGIN and owns the schema `airflow` of
the metadata database and what is in it, and nothing else: no CREATEROLE, no CREATEDB, no
privilege on any other schema, no CREATE on the database.

Rotation without an outage (docs/runbook.md): a new generation N+1 is a new login role with a new
password, created while generation N still logs in; PgBouncer then rolls to N+1, and the next run
takes LOGIN and the password away from N-1 and older (`retired`). At every moment the password
PgBouncer holds works.

A stack that ran Airflow as the master user (0.1.0) holds Airflow's tables in `public`, owned by
the master: the first run moves every object of the master's there into `airflow` and gives it to
the owner, in the same transaction as the rest (PostgreSQL's DDL is transactional: all or
nothing).

`statements()` is pure; `main()` is the Job's entry point (this file is the Job's script, shipped
in a ConfigMap and run by the Airflow image's Python, which has boto3 and psycopg): it reads the
master credentials from Secrets Manager (RDS's managed secret, or the one the program writes for
a brought database), connects with TLS and runs the statements in one transaction.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "airflow"
"""The schema Airflow's tables live in (each login role's `search_path`)."""
MAX_GENERATION = 99
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
LONGEST_DB_NAME = 63 - len("_app_g99")
"""A database name whose roles' names fit PostgreSQL's 63 bytes."""


def owner_role(db_name: str) -> str:
    """The NOLOGIN role that owns Airflow's schema and objects."""
    return f"{db_name}_app"


def login_role(db_name: str, generation: int) -> str:
    """The login role of one password generation."""
    return f"{owner_role(db_name)}_g{generation}"


@dataclass(frozen=True)
class RolePlan:
    """What the Job makes of the database."""

    master: str
    """The master user the Job connects as (RDS's, or a brought database's administrator)."""
    db_name: str
    """The metadata database."""
    generation: int = 0
    """The current login role's generation: Airflow logs in as it."""

    def __post_init__(self) -> None:
        for name in (self.master, self.db_name):
            if not _NAME.fullmatch(name):
                raise ValueError(f"RolePlan: '{name}' is not a lowercase PostgreSQL name")
        if len(self.db_name) > LONGEST_DB_NAME:
            raise ValueError(f"RolePlan: database name '{self.db_name}' is longer than {LONGEST_DB_NAME}")
        if not 0 <= self.generation <= MAX_GENERATION:
            raise ValueError(f"RolePlan: generation {self.generation} is not 0 to {MAX_GENERATION}")

    @property
    def owner(self) -> str:
        return owner_role(self.db_name)

    @property
    def login(self) -> str:
        return login_role(self.db_name, self.generation)

    @property
    def kept(self) -> tuple[str, ...]:
        """Login roles that may log in: the current one and the one before it (PgBouncer's pods may
        still hold it while they roll)."""
        previous = (login_role(self.db_name, self.generation - 1),) if self.generation else ()
        return (self.login, *previous)

    @property
    def retired(self) -> tuple[str, ...]:
        """Login roles older than the previous generation: no LOGIN, no password."""
        return tuple(login_role(self.db_name, g) for g in range(self.generation - 1))


def literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings is on in every supported PostgreSQL)."""
    if "\x00" in value:
        raise ValueError("a SQL literal cannot hold a NUL character")
    return "'" + value.replace("'", "''") + "'"


def _create_role(name: str, login: bool) -> str:
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(name)}) THEN "
        f"CREATE ROLE {name} {'LOGIN' if login else 'NOLOGIN'}; END IF; END $$"
    )


_LIMITS = "NOCREATEDB NOCREATEROLE"
"""What the master may take away (RDS's master is no superuser: SUPERUSER, REPLICATION and BYPASSRLS
are not its to grant or name, and a role it creates has none of them)."""
_FREE_TYPES = (
    "(t.typtype IN ('e', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))"
)
"""Types that stand alone (enums, ranges, composite types of their own); a table's row type and an
array type follow their table or element."""
_KINDS = (
    "CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' "
    "WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END"
)


def _adopt_public(plan: RolePlan) -> str:
    """Every table, view, sequence, type and function the master owns in `public` (where Airflow
    ran as the master before) moved into Airflow's schema and given to the owner. Tables first:
    their indexes, row types and owned (serial) sequences follow them."""
    relations = (
        "SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = 'public' AND c.relowner = {literal(plan.master)}::regrole "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relkind = 'S'"
    )
    types = (
        "SELECT t.oid::regtype AS obj FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        f"WHERE n.nspname = 'public' AND t.typowner = {literal(plan.master)}::regrole AND {_FREE_TYPES}"
    )
    routines = (
        "SELECT p.oid::regprocedure AS obj, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname = 'public' AND p.proowner = {literal(plan.master)}::regrole AND p.prokind IN ('f', 'p')"
    )
    return (
        "DO $$ DECLARE r record; BEGIN "
        # A sequence owned by a moved table has moved with it: the query runs again for each row.
        f"FOR r IN {relations} LOOP "
        "IF (SELECT relnamespace FROM pg_class WHERE oid = r.obj) = 'public'::regnamespace THEN "
        f"EXECUTE format('ALTER %s %s SET SCHEMA {SCHEMA}', {_KINDS}, r.obj); END IF; END LOOP; "
        f"FOR r IN {types} LOOP EXECUTE format('ALTER TYPE %s SET SCHEMA {SCHEMA}', r.obj); END LOOP; "
        f"FOR r IN {routines} LOOP EXECUTE format('ALTER %s %s SET SCHEMA {SCHEMA}', "
        "CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.obj); END LOOP; END $$"
    )


def _give_schema_to_owner(plan: RolePlan) -> str:
    """What the master owns in Airflow's schema (moved or made there) given to the owner."""
    master = literal(plan.master)
    relations = (
        "SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c "
        f"WHERE c.relnamespace = '{SCHEMA}'::regnamespace AND c.relowner = {master}::regrole "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relkind = 'S'"
    )
    types = (
        "SELECT t.oid::regtype AS obj FROM pg_type t "
        f"WHERE t.typnamespace = '{SCHEMA}'::regnamespace AND t.typowner = {master}::regrole AND {_FREE_TYPES}"
    )
    routines = (
        "SELECT p.oid::regprocedure AS obj, p.prokind FROM pg_proc p "
        f"WHERE p.pronamespace = '{SCHEMA}'::regnamespace AND p.proowner = {master}::regrole "
        "AND p.prokind IN ('f', 'p')"
    )
    return (
        "DO $$ DECLARE r record; BEGIN "
        # An owned sequence follows its table: skip what an earlier row already gave.
        f"FOR r IN {relations} LOOP "
        f"IF (SELECT relowner FROM pg_class WHERE oid = r.obj) = {master}::regrole THEN "
        f"EXECUTE format('ALTER %s %s OWNER TO {plan.owner}', {_KINDS}, r.obj); END IF; END LOOP; "
        f"FOR r IN {types} LOOP EXECUTE format('ALTER TYPE %s OWNER TO {plan.owner}', r.obj); END LOOP; "
        f"FOR r IN {routines} LOOP EXECUTE format('ALTER %s %s OWNER TO {plan.owner}', "
        "CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.obj); END LOOP; END $$"
    )


def statements(plan: RolePlan, password: str) -> list[str]:
    """The SQL the Job runs as `plan.master` in `plan.db_name`, in one transaction; idempotent, so
    every run (a new generation, a restored database, a changed script) brings the roles in step.
    `password` is the current login role's."""
    owner, db = plan.owner, plan.db_name
    sql = [
        _create_role(owner, login=False),
        f"ALTER ROLE {owner} NOLOGIN {_LIMITS} NOINHERIT PASSWORD NULL",
        # The master hands objects to the owner (PostgreSQL 16: a CREATEROLE user has ADMIN on the
        # roles it made, but SET on them only once granted).
        f"GRANT {owner} TO {plan.master}",
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"ALTER SCHEMA {SCHEMA} OWNER TO {owner}",
        # The owner may connect; it gets no CREATE on the database (no schema of its own making)
        # and PUBLIC keeps PostgreSQL's default CONNECT and TEMP only.
        f"GRANT CONNECT ON DATABASE {db} TO {owner}",
        f"REVOKE CREATE ON DATABASE {db} FROM PUBLIC",
        # Before PostgreSQL 15 every role may create objects in `public`; Airflow's role may not.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        _adopt_public(plan),
        _give_schema_to_owner(plan),
    ]
    for login in plan.kept:
        sql += [
            _create_role(login, login=True),
            f"GRANT {owner} TO {login}",
            # Every session of the login role runs as the owner, in Airflow's schema: what
            # Airflow's migrations create belongs to the owner, whichever generation ran them.
            f"ALTER ROLE {login} IN DATABASE {db} SET role = {literal(owner)}",
            f"ALTER ROLE {login} IN DATABASE {db} SET search_path = {SCHEMA}",
        ]
    sql.append(f"ALTER ROLE {plan.login} LOGIN {_LIMITS} INHERIT PASSWORD {literal(password)}")
    for old in plan.retired:
        sql.append(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {literal(old)}) THEN "
            f"ALTER ROLE {old} NOLOGIN PASSWORD NULL; END IF; END $$"
        )
    return sql


def redacted(sql: str, password: str) -> str:
    """A statement as the Job logs it: the password never reaches the pod's log."""
    return sql.replace(literal(password), "'***'") if password else sql


# --------------------------------------------------------------------------- the Job's entry point

ENV_PLAN = "DB_ROLES_PLAN"
"""JSON: {"master": ..., "db_name": ..., "generation": ...} (the RolePlan)."""
ENV_HOST, ENV_PORT = "DB_HOST", "DB_PORT"
ENV_MASTER_SECRET = "DB_MASTER_SECRET_ARN"
"""The Secrets Manager secret holding the master's `{"username": ..., "password": ...}`."""
ENV_PASSWORD_FILE = "DB_APP_PASSWORD_FILE"
"""The file holding the current login role's password (the Job's own Secret, mounted)."""
ENV_SSLMODE, ENV_SSLROOTCERT = "DB_SSLMODE", "DB_SSLROOTCERT"


def master_credentials(secret_string: str) -> tuple[str, str]:
    """(user, password) from a Secrets Manager secret of RDS's shape."""
    value = json.loads(secret_string)
    return str(value["username"]), str(value["password"])


def read_password(path: str) -> str:
    """The login role's password, the whole file as written (a Secret's key mounted: no newline)."""
    password = Path(path).read_text(encoding="utf-8")
    if not password:
        raise SystemExit(f"{ENV_PASSWORD_FILE}: {path} is empty")
    return password


def run(execute: Callable[[str], object], plan: RolePlan, password: str, log: Callable[[str], object]) -> None:
    """Run the statements through `execute(sql)` (a DB-API cursor's), logging each redacted."""
    for sql in statements(plan, password):
        log(redacted(sql, password))
        execute(sql)


def main() -> int:  # pragma: no cover - runs in the Job's pod (the tests run `statements` on PostgreSQL)
    # The Airflow image's (the amazon and postgres providers'); imported here, so that the rest of
    # the module needs the standard library only.
    boto3 = importlib.import_module("boto3")
    try:
        driver = importlib.import_module("psycopg")
    except ImportError:
        driver = importlib.import_module("psycopg2")

    plan = RolePlan(**json.loads(os.environ[ENV_PLAN]))
    password = read_password(os.environ[ENV_PASSWORD_FILE])
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ[ENV_MASTER_SECRET])
    user, master_password = master_credentials(secret["SecretString"])
    if user != plan.master:
        raise SystemExit(f"the master secret is for '{user}', the plan's master is '{plan.master}'")
    tls = {"sslmode": os.environ.get(ENV_SSLMODE, "verify-full")}
    if os.environ.get(ENV_SSLROOTCERT):
        tls["sslrootcert"] = os.environ[ENV_SSLROOTCERT]
    conn = driver.connect(
        host=os.environ[ENV_HOST],
        port=int(os.environ[ENV_PORT]),
        dbname=plan.db_name,
        user=user,
        password=master_password,
        connect_timeout=30,
        application_name="airflow-db-roles",
        **tls,
    )
    with conn:  # one transaction: committed at the end, rolled back on any error
        cursor = conn.cursor()
        run(cursor.execute, plan, password, log=print)
    conn.close()
    print(f"roles in step: Airflow logs in as {plan.login}, runs as {plan.owner} in schema {SCHEMA}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
