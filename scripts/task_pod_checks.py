"""Issue 21, items 2 and 3 in `make integration`'s Airflow run (scripts/airflow_run.py calls `checks`):

- a task pod holds no credentials: the pod the KubernetesExecutor built from the rendered template,
  resolved against the namespace's Secrets as the kubelet resolves it (scripts/emulated_pod.py),
  carries none of the Secrets' values in its environment or files; a probe run with exactly that
  environment and those files reads the metadata connection Airflow's config gives it and tries to
  log in to PgBouncer and to PostgreSQL as the database user: each attempt must fail for want of a
  password. The same probe with the scheduler's environment logs in (so the probe can succeed);
- every task pod the executor created passes the stack's admission policy (lib/airflow/task_accounts.py:
  accounts, and in production images), evaluated by scripts/admission_check.py in the project's
  virtualenv, as created by the scheduler's account;
- `default_pool` holds the configured capacity's slots (`GET /api/v2/pools/default_pool`), and the
  rendered migration Job, run again as an upgrade runs it, brings a pool left at Airflow's default
  back to that number.

Standard library only, like the harness; the probe itself runs in the pinned Airflow's Python.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from lib.airflow.secrets import RELEASE_NAME, SECRET_KEYS, SECRET_NAMES
from lib.database.pgbouncer import pools as pgbouncer
from lib.database.postgres import connection_uri
from scripts import emulated_pod
from scripts.emulated_pod import Cluster, Local
from scripts.integration import PROJECT_PYTHON, ROOT, SERVER_HOST

PROBE = r"""
import json, os, sys
target = json.loads(sys.argv[1])
out = {}
from airflow.configuration import conf
url = conf.get("database", "sql_alchemy_conn")
out["sql_alchemy_conn_scheme"] = url.split(":", 1)[0]
try:
    import sqlalchemy
    with sqlalchemy.create_engine(url).connect() as connection:
        out["metadata"] = connection.execute(sqlalchemy.text("select count(*) from dag")).scalar()
except Exception as error:
    out["metadata"] = "error: " + str(error).splitlines()[0]
import psycopg2
for name, (host, port, sslmode, dbname) in target["servers"].items():
    try:
        psycopg2.connect(
            host=host, port=port, dbname=dbname, user=target["user"], sslmode=sslmode,
            connect_timeout=10, password=os.environ.get("PGPASSWORD"),
        ).close()
        out[name] = "logged in"
    except psycopg2.OperationalError as error:
        out[name] = "error: " + str(error).strip().splitlines()[-1]
print("PROBE " + json.dumps(out))
"""
NO_PASSWORD = ("no password supplied", "password authentication failed")
"""libpq's answers (psycopg2 2.9.13) when the server asks for a password the client has not."""
MIGRATION_JOB = f"{RELEASE_NAME}-run-airflow-migrations"  # chart 1.22.0: `<fullname>-run-airflow-migrations`
MIN_SECRET_LENGTH = 8  # shorter Secret values (none here) would match by chance


def probe(
    pod: Mapping[str, Any],
    container: str,
    cluster: Cluster,
    local: Local,
    root: Path,
    target: Mapping[str, Any],
) -> tuple[emulated_pod.Container, dict[str, Any]]:
    """Run PROBE as `container` of `pod` would run (its environment, files, working directory)."""
    resolved = emulated_pod.resolve(pod, container, cluster)
    resolved = replace(resolved, argv=["python", "-c", PROBE, json.dumps(target)])
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    localised = emulated_pod.substitute(resolved, root, local)
    cwd = emulated_pod.materialise(localised, root, cluster)
    done = subprocess.run(
        localised.argv,  # as scripts/kubelet.py starts a container (this run's user)
        env=emulated_pod.environment(localised),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"probe exited {done.returncode}: {done.stderr[-2000:]}")
    return resolved, json.loads(lines[-1].removeprefix("PROBE "))


def held_secrets(container: emulated_pod.Container, secrets: Mapping[str, Mapping[str, str]]) -> list[str]:
    """`secret/key` of every Secret value found in the container's environment or mounted files."""
    texts = [*container.env.values(), *(text for text, _ in container.files.values())]
    return [
        f"{name}/{key}"
        for name, data in secrets.items()
        for key, value in data.items()
        if len(value) >= MIN_SECRET_LENGTH and any(value in text for text in texts)
    ]


def database_uri(rendered: Any) -> pgbouncer.DatabaseUri:
    """The database as PgBouncer reaches it for the plan (`rendered`, scripts/airflow_render.py's):
    the metadata connection's role and password (the same on both of PgBouncer's sides), the
    database's address, port and name (stack outputs)."""
    client = pgbouncer.parse_database_uri(rendered.secrets[SECRET_NAMES.metadata][SECRET_KEYS["metadata"]])
    out = rendered.outputs
    return pgbouncer.parse_database_uri(
        connection_uri(client.username, client.password, out["db_address"], int(out["db_port"]), out["db_name"])
    )


def checks(
    step: Callable[[str], AbstractContextManager[None]],
    rendered: Any,
    kubelet: Any,
    started: Any,
    api_call: Callable[..., Any],
    work: Path,
) -> None:
    """The three steps, after the DAG run: `step(name)` is the harness's report entry, `rendered` its
    Render, `kubelet` its Kubelet (the executor's task pods, the cluster, the local names),
    `started` its Services (local ports)."""
    metadata = pgbouncer.parse_database_uri(rendered.secrets[SECRET_NAMES.metadata][SECRET_KEYS["metadata"]])
    db = database_uri(rendered)
    pgb_service = f"{pgbouncer.pgbouncer_service_host(rendered.namespace, RELEASE_NAME)}:{pgbouncer.PGBOUNCER_PORT}"
    target = {
        "user": metadata.username,
        "servers": {
            "pgbouncer": ["127.0.0.1", started.services[pgb_service], "prefer", metadata.dbname],
            "postgresql": [SERVER_HOST, started.postgres, "require", db.dbname],
        },
    }
    cfg = rendered.airflow_cfg()

    def no_keys() -> None:
        (task_pod, *_) = [p for p in kubelet.task_pods() if p["metadata"]["annotations"].get("task_id") == "parallel"]
        task, found = probe(task_pod, "base", kubelet.cluster, kubelet.local, work / "probes" / "task-pod", target)
        print(f"  task pod: {found}", flush=True)
        assert not held_secrets(task, rendered.secrets), held_secrets(task, rendered.secrets)
        assert found["sql_alchemy_conn_scheme"].split("+")[0] != "postgresql", found
        assert str(found["metadata"]).startswith("error: "), found
        for server in target["servers"]:
            assert any(reason in found[server] for reason in NO_PASSWORD), (server, found[server])
        # The control: the scheduler's own environment logs in, through PgBouncer, with its connection.
        scheduler = rendered.pod("Deployment", "airflow-scheduler")
        root = work / "probes" / "scheduler"
        _, control = probe(scheduler, "scheduler", kubelet.cluster, kubelet.local, root, target)
        print(f"  scheduler: {control}", flush=True)
        assert isinstance(control["metadata"], int), control

    def pool() -> None:
        slots = int(cfg["core.default_pool_task_slot_count"])
        assert slots == int(cfg["core.parallelism"]), cfg["core.parallelism"]
        assert api_call("GET", "/api/v2/pools/default_pool")["slots"] == slots
        # An earlier release's pool (Airflow's default 128, created once): the upgrade's Job resizes it.
        api_call("PATCH", "/api/v2/pools/default_pool?update_mask=slots", {"slots": 128})
        assert api_call("GET", "/api/v2/pools/default_pool")["slots"] == 128
        kubelet.run_to_completion(rendered.pod("Job", MIGRATION_JOB), timeout=300)
        assert api_call("GET", "/api/v2/pools/default_pool")["slots"] == slots
        print(f"  default_pool: {slots} slots", flush=True)

    def admitted() -> None:
        pods = kubelet.task_pods()
        listed = work / "task-pods.json"
        listed.write_text(json.dumps(pods))
        script = ROOT / "scripts" / "admission_check.py"
        scheduler = f"system:serviceaccount:{rendered.namespace}:{RELEASE_NAME}-scheduler"
        run = subprocess.run(
            [str(PROJECT_PYTHON), str(script), str(work / "render.json"), str(listed), "--username", scheduler],
            capture_output=True,
            text=True,
        )
        print("  " + run.stdout.strip().replace("\n", "\n  "), flush=True)
        assert run.returncode == 0, run.stderr or run.stdout
        assert run.stdout.count("admitted: ") == len(pods) >= 3, len(pods)

    for name, check in (
        ("a task pod holds no credentials and cannot log in to PgBouncer or PostgreSQL", no_keys),
        ("default_pool holds the configured task capacity, restored by the migration Job", pool),
        ("the executor's task pods pass the stack's admission policy (accounts, production images)", admitted),
    ):
        try:
            with step(name):
                check()
        except Exception as error:  # the harness's StepFailed: the next check still runs
            if type(error).__name__ != "StepFailed":
                raise
