"""`make integration`: the database path with real software, through the program's generated files.

Starts, all throw-away (a temporary directory; builds cached under build/integration/):
- PostgreSQL (the machine's, /usr/local/bin or $PG_BIN) that, like RDS with `rds.force_ssl=1`,
  accepts only TLS and SCRAM: `ssl=on` with a CA and a server certificate made here with openssl,
  `password_encryption=scram-sha-256`, pg_hba `hostssl ... scram-sha-256` / `hostnossl ... reject`;
- PgBouncer 1.24.1 (built from Debian's source tarball, sha256-pinned: bookworm's 1.18 lacks
  `max_prepared_statements`; the chart's image is 1.23.1, still in chart 1.22.0's values) with
  exactly the `pgbouncer.ini` and `users.txt` that lib/database/pgbouncer/pools.py writes for the pods.
  `substitute` changes only the listen address and port, the file paths (the auth file, the CA
  file: this run's CA stands in for the RDS bundle) and the server's host and port: the files
  are generated for an RDS endpoint name (`RDS_HOST`, so they take the `verify-full` branch),
  then pointed at `localhost`, the name in this run's server certificate, so `verify-full` is
  exercised for real. Where the file is silent on a setting whose default 1.24 changed, 1.23.1's
  default is written (CHART_IMAGE_DEFAULTS);
- Airflow 3.3.2 (the stacks' airflowVersion) in .venv-airflow (requirements-integration.txt,
  constrained by constraints-integration.txt, the project's own frozen set: Airflow's constraints
  file is not reachable from these machines);
- the airflow.cfg the real chart renders from the dev and prod values (scripts/rendered_airflow_cfg.py,
  run in the project's virtualenv: `make integration` makes it first, with the pinned Helm).
- the queue policy and pod template the chart renders for examples/stacks/Pulumi.queues.yaml
  (scripts/rendered_queue_files.py), which scripts/queue_routing_probe.py hands to the real Airflow.
Then runs the steps (scripts/integration_probes.py runs inside Airflow's virtualenv), each
printed with its duration; stops everything it started, by PID, even on failure or a signal;
exits 1 if a step failed. `--drop-setting NAME` removes that generated line from pgbouncer.ini
before PgBouncer starts (to show which step catches its loss); `--drop-setting SECTION.KEY`
removes that line from the rendered airflow.cfg of the Airflow run (scripts/airflow_run.py).
Every step's outcome and duration is written to build/integration/report.json.

    python3 scripts/integration.py [--drop-setting NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.database.pgbouncer import pools as pgbouncer  # noqa: E402
from lib.database.pgbouncer.tls import RDS_CA_FILE  # noqa: E402
from lib.database.postgres import connection_uri  # noqa: E402
from lib.database.roles import RolePlan, statements  # noqa: E402

T = TypeVar("T")
BUILD = ROOT / "build" / "integration"
REPORT = BUILD / "report.json"
"""Each step's name, outcome (passed/failed) and seconds."""
AIRFLOW_VENV = ROOT / ".venv-airflow"
PROJECT_PYTHON = Path(os.environ.get("PROJECT_PYTHON", ROOT / ".venv" / "bin" / "python"))
"""The project's virtualenv (Pulumi, PyYAML, Helm beside it), for rendering the chart."""
STACKS = ("dev", "prod")
PGBOUNCER_VERSION = "1.24.1"
PGBOUNCER_SOURCE = f"http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_{PGBOUNCER_VERSION}.orig.tar.gz"
PGBOUNCER_SHA256 = "da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0"
CHART_IMAGE_DEFAULTS = {"max_prepared_statements": "0"}
"""Defaults of the chart's PgBouncer (1.23.1, chart 1.22.0 `images.pgbouncer`) that 1.24 changed,
applied where the file is silent."""
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/local/bin"))
RDS_HOST = "airflow-integration.c0abcdefghij.us-east-1.rds.amazonaws.com"  # what the files are generated for
SERVER_HOST = "localhost"  # the server certificate's name: what PgBouncer's verify-full checks
WRONG_HOST = "127.0.0.1"  # the same server under a name its certificate does not carry
RELEASE, NAMESPACE = "airflow", "airflow"
USER, DB = "airflow", "airflow"
"""The master user (RDS's: CREATEROLE and CREATEDB, no superuser) and the database it owns."""
PASSWORD = "Generated0Alphanumeric0Password0Like0Rds"  # the master's: RDS generates it
ROLES = RolePlan(USER, DB)
"""What the roles Job makes (lib/database/roles.py): Airflow logs in as ROLES.login, never as USER."""
APP_PASSWORD = "Generated0Alphanumeric0App0Password0Too"  # components/database_roles.py: alphanumerics
ADMIN_PASSWORD = "Generated0Admin0Password0Like0The0Component"  # components/airflow.py: alphanumerics
BROUGHT_USER = "brought_user"
BROUGHT_PASSWORD = "p@ss:w/rd?#[]%20 \"quoted\" 'single' \\back;slash=é€"
"""A password `existingDbPassword` may hold: every character a URI or users.txt must escape."""
MAX_CONNECTIONS = 100
DEFAULT_PORT = 5432
UNPRIVILEGED = "nobody"  # initdb and postgres refuse root; CI runs as root


class Processes:
    """What this run started, stopped by PID in reverse order."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGINT: PostgreSQL's fast shutdown, PgBouncer's safe one (SIGTERM waits for clients)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            if proc.poll() is None:
                print(f"  stopping {name} (pid {proc.pid})")
            self.stop(proc)


def as_unprivileged(argv: Sequence[str]) -> list[str]:
    """`setpriv` execs the command itself: the PID we hold is the server's, not a wrapper's."""
    if os.geteuid() != 0:
        return list(argv)
    return ["setpriv", f"--reuid={UNPRIVILEGED}", "--regid=nogroup", "--clear-groups", "--", *argv]


def give_away(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, UNPRIVILEGED, "nogroup")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(argv: Sequence[str | Path], **kwargs: Any) -> None:
    subprocess.run([str(a) for a in argv], check=True, **kwargs)


def ensure_packages(binary: str, packages: Sequence[str], files: Sequence[Path] = ()) -> None:
    """Debian's `packages`, installed unless `binary` is on PATH and every one of `files` exists."""
    if shutil.which(binary) is not None and all(f.exists() for f in files):
        return
    try:
        run(["apt-get", "install", "-y", "-q", *packages])
    except subprocess.CalledProcessError:  # a fresh machine may have no package lists yet
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", *packages])


def install_pgbouncer() -> Path:
    """PgBouncer built from Debian's pinned source tarball, cached in build/integration/."""
    prefix = BUILD / f"pgbouncer-{PGBOUNCER_VERSION}"
    binary = prefix / "bin" / "pgbouncer"
    if binary.exists():
        return binary
    BUILD.mkdir(parents=True, exist_ok=True)
    tarball = BUILD / Path(PGBOUNCER_SOURCE).name
    if not tarball.exists():
        urllib.request.urlretrieve(PGBOUNCER_SOURCE, tarball)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != PGBOUNCER_SHA256:
        tarball.unlink()
        raise SystemExit(f"{tarball.name}: sha256 {digest}, expected {PGBOUNCER_SHA256}")
    src = BUILD / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(src, filter="data")
    (tree,) = src.iterdir()
    headers = (Path("/usr/include/event2"), Path("/usr/include/openssl/ssl.h"))
    ensure_packages("pkg-config", ["libevent-dev", "libssl-dev", "pkg-config", "build-essential"], headers)
    quiet: dict[str, Any] = {"cwd": tree, "stdout": subprocess.DEVNULL}
    run(["./configure", f"--prefix={prefix}", "--without-cares", "--without-systemd"], **quiet)
    run(["make", f"-j{os.cpu_count() or 2}"], **quiet)
    run(["make", "install"], **quiet)
    shutil.rmtree(src)
    return binary


def install_airflow() -> Path:
    """.venv-airflow from the pinned requirements, made anew when they change: an install over
    another Airflow would keep what the new set no longer has (as it did from 3.0.2 to 3.3.2)."""
    files = [ROOT / "requirements-integration.txt", ROOT / "constraints-integration.txt"]
    stamp = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    marker = AIRFLOW_VENV / ".installed"
    python = AIRFLOW_VENV / "bin" / "python"
    if marker.exists() and marker.read_text() == stamp:
        return python
    shutil.rmtree(AIRFLOW_VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(AIRFLOW_VENV)])
    run([str(python), "-m", "pip", "install", "--quiet", "-r", str(files[0]), "-c", str(files[1])])
    marker.write_text(stamp)
    return python


def make_certificates(tmp: Path) -> Path:
    """A CA and a server certificate for SERVER_HOST (openssl); returns the CA file."""
    ca, key, days = tmp / "ca.pem", tmp / "ca.key", ["-days", "2"]
    quiet: dict[str, Any] = {"stderr": subprocess.DEVNULL}
    subject = ["-subj", "/CN=integration test root CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", ca, *days, *subject],
        **quiet,
    )
    (tmp / "san.ext").write_text(f"subjectAltName=DNS:{SERVER_HOST}\n")
    server: list[str | Path] = [
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        tmp / "server.key",
        "-subj",
        f"/CN={SERVER_HOST}",
    ]
    run(["openssl", "req", "-new", *server, "-out", tmp / "server.csr"], **quiet)
    signed: list[str | Path] = ["-CA", ca, "-CAkey", key, "-CAcreateserial", *days, "-extfile", tmp / "san.ext"]
    run(["openssl", "x509", "-req", "-in", tmp / "server.csr", *signed, "-out", tmp / "server.crt"], **quiet)
    for name in ("server.key", "server.crt"):
        give_away(tmp / name)
    (tmp / "server.key").chmod(0o600)
    return ca


def start_postgres(tmp: Path, procs: Processes, app_password: str = APP_PASSWORD) -> int:
    """PostgreSQL that, like RDS with rds.force_ssl=1, takes only TLS and SCRAM over TCP; its
    master user and database as RDS makes them, then Airflow's roles as the roles Job makes them,
    the login role's password `app_password`."""
    data, port = tmp / "pgdata", free_port()
    (tmp / "pwfile").write_text("setup-only\n")
    give_away(tmp / "pwfile")
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--auth-local=trust"]
    run(as_unprivileged([*initdb, "--auth-host=reject", f"--pwfile={tmp / 'pwfile'}"]), stdout=subprocess.DEVNULL)
    (data / "pg_hba.conf").write_text(
        "local all postgres trust\n"  # setup only, on this run's private socket directory
        "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n"
    )
    settings = {
        "listen_addresses": SERVER_HOST,
        "port": str(port),
        "unix_socket_directories": str(tmp),
        "ssl": "on",
        "ssl_cert_file": str(tmp / "server.crt"),
        "ssl_key_file": str(tmp / "server.key"),
        "password_encryption": "scram-sha-256",
        "max_connections": str(MAX_CONNECTIONS),
    }
    flags = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
    procs.start("postgres", as_unprivileged([str(PG_BIN / "postgres"), "-D", str(data), *flags]), tmp / "postgres.log")
    wait_for(lambda: subprocess.run(["pg_isready", "-q", "-h", str(tmp), "-p", str(port)]).returncode == 0)
    psql(tmp, port, f"CREATE ROLE {USER} LOGIN CREATEROLE CREATEDB PASSWORD '{PASSWORD}'")
    psql(tmp, port, f"CREATE DATABASE {DB} OWNER {USER}")
    quoted = BROUGHT_PASSWORD.replace("'", "''")
    psql(tmp, port, f"CREATE ROLE {BROUGHT_USER} LOGIN PASSWORD '{quoted}' IN ROLE {USER}")
    apply_roles(tmp, port, ROLES, app_password)
    return port


def apply_roles(tmp: Path, port: int, plan: RolePlan, password: str) -> None:
    """The roles Job's statements, in one transaction, with the master's privileges (SET ROLE: the
    checks are the master's, as in the Job, which logs in as it)."""
    script = "".join(f"{sql};\n" for sql in [f"SET ROLE {plan.master}", *statements(plan, password)])
    argv = ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-h", str(tmp), "-p", str(port), "-U", "postgres"]
    run([*argv, "-d", plan.db_name, "-f", "-"], input=script.encode(), stdout=subprocess.DEVNULL)


def psql(tmp: Path, port: int, sql: str) -> None:
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(tmp), "-p", str(port), "-U", "postgres", "-c", sql]
    run(argv, stdout=subprocess.DEVNULL)


def wait_for(ready: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("did not start in time (see the logs in the run directory)")
        time.sleep(0.2)


def substitute(ini: str, listen_port: int, files: Path, server: str, ca_file: Path, drop: Sequence[str]) -> str:
    """The generated pgbouncer.ini with only the listen address and port, the file paths and the
    server's `host=... port=...` changed; each generated line replaced must be there exactly once
    (the server, once per pool). `drop` removes settings."""
    target = f"host={RDS_HOST} port={DEFAULT_PORT} "
    pools = [line for line in ini.splitlines() if target in line]
    assert len(pools) == 2, pools
    ini = ini.replace(target, f"host={server} ")
    swaps = {
        "listen_addr = *": "listen_addr = 127.0.0.1",
        f"listen_port = {pgbouncer.PGBOUNCER_PORT}": f"listen_port = {listen_port}",
        "auth_file = /etc/pgbouncer/users.txt": f"auth_file = {files / 'users.txt'}",
        f"server_tls_ca_file = {RDS_CA_FILE}": f"server_tls_ca_file = {ca_file}",
    }
    lines = ini.splitlines()
    for old, new in swaps.items():
        if old in lines:  # the CA line is absent when the ini keeps `require`
            assert lines.count(old) == 1, old
            lines[lines.index(old)] = new
    for name in drop:
        kept = [line for line in lines if line.split("=")[0].strip() != name]
        if len(kept) == len(lines):
            raise SystemExit(f"--drop-setting {name}: not in the generated pgbouncer.ini")
        lines = kept
    # PgBouncer 1.24 tracks 200 prepared statements by default; the chart's image (1.23.1) none.
    # Keep the pods' default when the generated file says nothing, so its absence shows here.
    if not any(line.startswith("max_prepared_statements =") for line in lines):
        lines.append(f"max_prepared_statements = {CHART_IMAGE_DEFAULTS['max_prepared_statements']}")
    return "\n".join([*lines, ""])


def start_pgbouncer(
    binary: Path,
    db: pgbouncer.DatabaseUri,
    server: str,
    tmp: Path,
    name: str,
    ca: Path,
    procs: Processes,
    drop: Sequence[str],
) -> int:
    """PgBouncer with the files lib/database/pgbouncer/pools.py generates for the pods (see `substitute`)."""
    files, port = tmp / name, free_port()
    files.mkdir()
    pools = pgbouncer.pgbouncer_pools(MAX_CONNECTIONS, 2)
    generated = pgbouncer.pgbouncer_ini(db, pools, RELEASE)
    (files / "pgbouncer.generated.ini").write_text(generated)
    (files / "pgbouncer.ini").write_text(substitute(generated, port, files, server, ca, drop))
    (files / "users.txt").write_text(pgbouncer.pgbouncer_users(db))
    for path in (files, *files.iterdir()):
        give_away(path)
    argv = as_unprivileged([str(binary), str(files / "pgbouncer.ini")])
    procs.start(name, argv, tmp / f"{name}.log")
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
    return port


def local(uri: str, port: int) -> str:
    """A pod's URI pointed at this run's PgBouncer instead of the in-cluster Service."""
    for host in (pgbouncer.pgbouncer_service_host(NAMESPACE, RELEASE), "127.0.0.1"):
        remote = f"{host}:{pgbouncer.PGBOUNCER_PORT}"
        uri = uri.replace(f"@{remote}/", f"@127.0.0.1:{port}/")
    assert f"127.0.0.1:{port}" in uri
    return uri


class Steps:
    def __init__(self, tmp: Path, python: Path) -> None:
        self.tmp, self.python, self.results = tmp, python, list[tuple[str, bool, float]]()

    def env(self, client_uri: str) -> dict[str, str]:
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.tmp / "airflow-home"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": client_uri,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        }

    def command(self, argv: Sequence[str], client_uri: str, extra: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.tmp / "steps.log").open("ab")
        return subprocess.Popen(argv, env={**self.env(client_uri), **extra}, stdout=log, stderr=subprocess.STDOUT)

    def step(self, name: str, client_uri: str, *argvs: Sequence[str], env: Mapping[str, str] | None = None) -> bool:
        """Run the commands concurrently (with `env` added); the step passes when every one exits 0."""
        print(f"- {name} ...", flush=True)
        with (self.tmp / "steps.log").open("a") as log:
            log.write(f"\n===== {name}\n")
        start = time.monotonic()
        codes = [p.wait() for p in [self.command(a, client_uri, env or {}) for a in argvs]]
        ok, took = all(c == 0 for c in codes), time.monotonic() - start
        print(f"  {'ok' if ok else 'FAILED'} in {took:.1f} s{'' if ok else f' (exit codes {codes})'}", flush=True)
        self.results.append((name, ok, took))
        return ok

    def airflow(self, *args: str) -> list[str]:
        return [str(self.python.parent / "airflow"), *args]

    def probe(self, *args: str) -> list[str]:
        return [str(self.python), str(ROOT / "scripts" / "integration_probes.py"), *args]


def render_configs(tmp: Path) -> Path:
    """The chart's airflow.cfg for each stack, and the values' `config` (scripts/rendered_airflow_cfg.py)."""
    if not PROJECT_PYTHON.exists():
        raise SystemExit(f"no {PROJECT_PYTHON}: run `make .venv/.dev` first (make integration does)")
    out = tmp / "rendered"
    stacks = [arg for stack in STACKS for arg in ("--stack", stack)]
    script = ROOT / "scripts" / "rendered_airflow_cfg.py"
    run([PROJECT_PYTHON, script, "--out", out, *stacks], stdout=subprocess.DEVNULL)
    return out


def render_queue_files(tmp: Path) -> Path:
    """The queue policy and pod template the chart renders for examples/stacks/Pulumi.queues.yaml."""
    out = tmp / "rendered-queues"
    run([PROJECT_PYTHON, ROOT / "scripts" / "rendered_queue_files.py", "--out", out], stdout=subprocess.DEVNULL)
    return out


def roles_job_steps(steps: Steps, procs: Processes, pg_port: int, ca_file: Path) -> None:
    """The roles Job's script (lib/database/roles.py) as the Job runs it, on the database already in
    step (so, idempotent): the master's credentials from Secrets Manager (moto's) with boto3, then
    the statements over TLS verified against the CA (psycopg), as the master. Then, as Airflow's
    login role, the refusals the role is made for."""
    port = free_port()
    procs.start(
        "moto", [str(steps.python.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], steps.tmp / "moto.log"
    )
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    secret = json.dumps({"username": USER, "password": PASSWORD})
    create = (
        "import boto3, sys; print(boto3.client('secretsmanager').create_secret("
        f"Name='rds!db-integration', SecretString={secret!r})['ARN'], file=open(sys.argv[1], 'w'))"
    )
    arn_file = steps.tmp / "master-secret-arn"
    steps.step(
        "the master's secret in Secrets Manager (moto), as RDS keeps it",
        "",
        [str(steps.python), "-c", create, str(arn_file)],
        env=aws,
    )
    password_file = steps.tmp / "app-password"
    password_file.write_text(APP_PASSWORD)
    password_file.chmod(0o440)
    job = {
        **aws,
        "DB_ROLES_PLAN": json.dumps({"master": ROLES.master, "db_name": ROLES.db_name, "generation": ROLES.generation}),
        "DB_HOST": SERVER_HOST,
        "DB_PORT": str(pg_port),
        "DB_MASTER_SECRET_ARN": arn_file.read_text().strip() if arn_file.exists() else "",
        "DB_SSLMODE": "verify-full",
        "DB_SSLROOTCERT": str(ca_file),
        # The Job's Secret, mounted as a file (lib/database/roles_job.py): exactly the value, no newline.
        "DB_APP_PASSWORD_FILE": str(password_file),
    }
    script = str(ROOT / "lib" / "database" / "roles.py")
    steps.step(
        "the roles Job's script: boto3, psycopg, verify-full, one transaction", "", [str(steps.python), script], env=job
    )


def run_steps(steps: Steps, client: str, stats: str, brought: str, wrong_host: str, rendered: Path) -> None:
    migrate, check = steps.airflow("db", "migrate"), steps.airflow("db", "check")
    steps.step("airflow db migrate (through PgBouncer, the pods' connection string)", client, migrate)
    steps.step("airflow db check", client, check)
    steps.step(
        "two concurrent airflow db migrate (one waits or is refused by the lock)",
        client,
        steps.probe("concurrent-migrate"),
    )
    steps.step("SQLAlchemy round-trip (Airflow's settings.engine and a session)", client, steps.probe("sqlalchemy"))
    steps.step("PgBouncer asks its clients for SCRAM (libpq require_auth)", client, steps.probe("scram", client))
    steps.step("stats user on the admin console, as the exporter (SHOW STATS)", client, steps.probe("stats", stats))
    steps.step("a brought password with special characters (airflow db check)", brought, check)
    log = str(steps.tmp / "pgbouncer-wrong-host.log")
    steps.step("verify-full refuses a certificate for another host name", wrong_host, steps.probe("refused", log))
    steps.step("asyncpg: 300 calls on 48 concurrent sessions (Airflow's async URI)", client, steps.probe("asyncpg"))
    job = json.loads((rendered / "create-user-dev.json").read_text())
    password_file = steps.tmp / "admin-password"
    password_file.write_text(ADMIN_PASSWORD)  # the Secret's key, as the Job's volume mounts it
    args = [a.replace(job["password_file"], str(password_file)) for a in job["args"]]
    as_the_job = {
        "AIRFLOW_CONFIG": str(rendered / "airflow-dev.cfg"),
        "PATH": f"{steps.python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    steps.step("the chart's admin-user Job command (FAB's `airflow users create`)", client, args, env=as_the_job)
    steps.step("the admin user exists, with the Admin role", client, steps.probe("admin"), env=as_the_job)
    for stack in STACKS:
        steps.step(
            f"airflow config lint, options known and read back: the chart's airflow.cfg for {stack}",
            client,
            steps.probe("config", str(rendered / f"values-config-{stack}.json")),
            env={"AIRFLOW_CONFIG": str(rendered / f"airflow-{stack}.cfg")},
        )


def timed(what: str, fn: Callable[[], T]) -> T:
    print(f"- {what} ...", flush=True)
    start = time.monotonic()
    result = fn()
    print(f"  done in {time.monotonic() - start:.1f} s", flush=True)
    return result


def integration(drop: Sequence[str], tmp: Path, procs: Processes) -> Steps:
    airflow_drop = [d for d in drop if "." in d]  # `section.key` of the rendered airflow.cfg (airflow_run.py)
    drop = [d for d in drop if "." not in d]
    binary = timed(f"PgBouncer {PGBOUNCER_VERSION} (built once, cached in build/integration/)", install_pgbouncer)
    python = timed("Airflow's virtualenv (.venv-airflow)", install_airflow)
    rendered = timed("the chart's airflow.cfg from the dev and prod values (real Helm)", lambda: render_configs(tmp))
    queues = timed("the queues example stack's task-queue policy and pod template", lambda: render_queue_files(tmp))
    ca_file = make_certificates(tmp)
    pg_port = timed("PostgreSQL (TLS and SCRAM only)", lambda: start_postgres(tmp, procs))
    # What components/database_roles.py builds: lib.database.postgres.connection_uri as Airflow's login
    # role (generated password); and a brought user's (any characters).
    db = pgbouncer.parse_database_uri(connection_uri(ROLES.login, APP_PASSWORD, RDS_HOST, DEFAULT_PORT, DB))
    brought = pgbouncer.parse_database_uri(connection_uri(BROUGHT_USER, BROUGHT_PASSWORD, RDS_HOST, DEFAULT_PORT, DB))
    servers = {
        "pgbouncer": (db, f"{SERVER_HOST} port={pg_port}"),
        "pgbouncer-brought": (brought, f"{SERVER_HOST} port={pg_port}"),
        "pgbouncer-wrong-host": (db, f"{WRONG_HOST} port={pg_port}"),
    }
    ports = {
        name: start_pgbouncer(binary, target, server, tmp, name, ca_file, procs, drop)
        for name, (target, server) in servers.items()
    }
    steps = Steps(tmp, python)
    roles_job_steps(steps, procs, pg_port, ca_file)
    client = local(pgbouncer.pgbouncer_client_uri(db, NAMESPACE, RELEASE), ports["pgbouncer"])
    run_steps(
        steps,
        client,
        local(pgbouncer.pgbouncer_stats_uri(db), ports["pgbouncer"]),
        local(pgbouncer.pgbouncer_client_uri(brought, NAMESPACE, RELEASE), ports["pgbouncer-brought"]),
        local(pgbouncer.pgbouncer_client_uri(db, NAMESPACE, RELEASE), ports["pgbouncer-wrong-host"]),
        rendered,
    )
    steps.step(
        "task queues: the example DAG parsed with the rendered policy, its pods built as the executor builds them",
        client,
        [str(python), str(ROOT / "scripts" / "queue_routing_probe.py"), str(queues)],
    )
    from scripts import airflow_run  # issue 21: a DAG through the rendered Airflow (imports this module)

    airflow_run.run(steps, tmp, procs, binary, python, airflow_drop)
    # Issue 26: the generated webserver_config.py signs users in through a local OIDC provider.
    steps.step(
        "single sign-on: FAB with the generated webserver_config.py and a local OIDC provider (scripts/sso_run.py)",
        "",
        [str(python), str(ROOT / "scripts" / "sso_run.py")],
    )
    # `natGateways: instance`: the rules its user data applies, one interface in and out as on EC2.
    ensure_packages("iptables", ["iptables"])
    ensure_packages("ip", ["iproute2"])
    steps.step(
        "NAT instance: the rules the instance's user data applies, in network namespaces"
        " (scripts/nat_instance_check.py)",
        "",
        [str(python), str(ROOT / "scripts" / "nat_instance_check.py")],
    )
    policy_pack_alone(steps, tmp)
    return steps


def policy_pack_alone(steps: Steps, tmp: Path) -> None:
    """The policy pack as `pulumi policy publish policy` takes it: its folder copied alone, its
    requirements.txt (and the tests' pytest) installed into a fresh virtualenv, its tests run."""
    alone = tmp / "policy-pack-alone"
    shutil.copytree(ROOT / "policy", alone / "policy", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    venv = alone / "venv"
    run([sys.executable, "-m", "venv", venv])
    pytest_pin = next(
        line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("pytest==")
    )
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    requirements = str(alone / "policy" / "requirements.txt")
    steps.step(
        "the policy pack alone: its requirements.txt into a fresh virtualenv",
        "",
        [*pip, "-r", requirements, pytest_pin],
    )
    tests = [
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(alone / "policy" / "tests"),
    ]
    steps.step("the policy pack alone: its own tests, in its folder only", "", tests)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drop-setting", action="append", default=[], help="a pgbouncer.ini or airflow.cfg line")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs) after the run")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops what was started
    began, procs = time.monotonic(), Processes()
    tmp = Path(tempfile.mkdtemp(prefix="make-integration-"))  # its own prefix: other runs clean theirs
    tmp.chmod(0o755)
    give_away(tmp)
    dropped = f", without {', '.join(options.drop_setting)}" if options.drop_setting else ""
    print(f"Integration run in {tmp}{dropped}")
    steps = None
    try:
        steps = integration(options.drop_setting, tmp, procs)
    finally:
        procs.stop_all()
        failed = steps is None or not all(ok for _, ok, _ in steps.results)
        from scripts.airflow_run import write_report

        write_report(steps.results if steps else [("integration run", False, time.monotonic() - began)], REPORT)
        if failed and steps is not None:
            print(f"Logs: {tmp / 'steps.log'}; last lines:\n" + "\n".join(tail(tmp / "steps.log", 15)))
        if not (options.keep or failed):
            shutil.rmtree(tmp, ignore_errors=True)
    for name, ok, took in steps.results:
        print(f"{'PASS' if ok else 'FAIL'} {took:6.1f} s  {name}")
    print(f"Total {time.monotonic() - began:.1f} s")
    return 1 if failed else 0


def tail(path: Path, lines: int) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []


if __name__ == "__main__":
    sys.exit(main())
