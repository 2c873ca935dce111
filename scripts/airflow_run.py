"""`make integration`, issue 21: a DAG through Airflow as the real chart renders it for the prod stack.

Called by scripts/integration.py after its database steps (standard library only, like it):
1. The program runs under mocks for the prod stack and the official chart is rendered with the
   values its release carries (scripts/airflow_render.py, in .venv); the Kubernetes Secrets come
   from what the program creates (its random keys, database URI, admin password).
2. A PostgreSQL of its own (TLS and SCRAM only, scripts/integration.py's `start_postgres`) with
   the plan's database user and password, behind a PgBouncer with the files lib/database/pgbouncer/pools.py
   generates for that URI (`start_pgbouncer`), and moto's S3/STS server with the plan's logs
   bucket: all on 127.0.0.1.
3. An emulated kubelet (scripts/kubelet.py, scripts/emulated_pod.py) runs pods of the render as local
   processes: the migration and create-user Jobs, then the API server, scheduler, DAG processor
   and triggerer Deployments (their init containers first; one replica each; the log-groomer
   sidecars are not run: /clean-logs is the image's script), then every task pod the scheduler's
   KubernetesExecutor creates (scripts/emulated_executor.py), from the pod it built.
4. The DAG tests/dags/integration_run.py, copied into the DAGs claim's directory, is triggered
   through the REST API as the generated admin, and each property is checked.

The scheduler's airflow.cfg differs from the render in one key: `[core] executor` names the
emulated executor (`scheduler_config`). Every other change is in `emulated_pod.substitute`.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.airflow.secrets import ADMIN_PASSWORD_KEY, RELEASE_NAME, SECRET_NAMES  # noqa: E402
from lib.airflow.secrets_backend import TeamSpec, team_backend_env  # noqa: E402
from lib.airflow.values import ADMIN_USERNAME  # noqa: E402
from lib.database.pgbouncer import pools as pgbouncer  # noqa: E402
from lib.database.postgres import connection_uri  # noqa: E402
from scripts import jwt_checks, task_pod_checks  # noqa: E402
from scripts.emulated_pod import Cluster, Local  # noqa: E402
from scripts.integration import (  # noqa: E402
    DEFAULT_PORT,
    PROJECT_PYTHON,
    RDS_HOST,
    ROLES,
    SERVER_HOST,
    Processes,
    Steps,
    free_port,
    give_away,
    make_certificates,
    start_pgbouncer,
    start_postgres,
)
from scripts.kubelet import Kubelet, stop_group  # noqa: E402

DAG_FILE = ROOT / "tests" / "dags" / "integration_run.py"
EXECUTOR_FILE = ROOT / "scripts" / "emulated_executor.py"
COMPONENTS = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
JOBS = ("airflow-run-airflow-migrations", "airflow-create-user")
NOT_RUN = ("scheduler-log-groomer",)
"""Sidecars whose command (/clean-logs) is a script of the image, not of the render."""
EXECUTOR = "emulated_executor.EmulatedKubernetesExecutor"
DAG_ID = "integration_run"
CONNECTION = {
    "connection_id": "integration_http",
    "conn_type": "http",
    "host": "example.internal",
    "login": "robot",
    "password": "stored Fernet-encrypted",
}
VARIABLE = {"key": "integration_variable", "value": "read through the task SDK"}
RENDER_SETTINGS = ("secretsManagerBackend=true",)
"""Config set over the prod stack for the render: connections and variables from Secrets Manager too."""
SM_CONNECTION = ("integration_sm", {"conn_type": "http", "host": "sm.example.internal", "login": "sm-robot"})
SM_VARIABLE = ("integration_sm_variable", "read from Secrets Manager by the API server")
TEAM = TeamSpec("integration", ("arn:aws:iam::123456789012:role/integration-ci",))
TEAMS_PREFIX = "airflow/teams"  # secretsManagerTeamsPrefix's default
TEAM_CONNECTION = ("integration_team", {"conn_type": "http", "host": "team.example.internal", "login": "team-robot"})
TEAM_VARIABLE = ("integration_team_variable", "read from the team's prefix by the team's task")
TEAM_BACKEND_FILE = "integration_team_backend.json"  # tests/dags/integration_run.py reads it beside itself
RUN_TIMEOUT_SECONDS = 300
START_TIMEOUT_SECONDS = 180


# --------------------------------------------------------------------------- the render


@dataclass(frozen=True)
class Render:
    objects: list[dict[str, Any]]
    secrets: dict[str, dict[str, str]]
    outputs: dict[str, Any]
    namespace: str

    def one(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        return found

    def config_maps(self) -> dict[str, dict[str, str]]:
        return {o["metadata"]["name"]: o.get("data") or {} for o in self.objects if o["kind"] == "ConfigMap"}

    def services(self) -> dict[str, int]:
        """`<service>.<namespace>:<port>` of every rendered Service -> the free local port standing in."""
        found = {}
        for o in self.objects:
            if o["kind"] == "Service":
                for port in o["spec"]["ports"]:
                    found[f"{o['metadata']['name']}.{self.namespace}:{port['port']}"] = free_port()
        return found

    def pod(self, kind: str, name: str) -> dict[str, Any]:
        """A Deployment's or a Job's pod, named as its first replica would be."""
        template = self.one(kind, name)["spec"]["template"]
        return {"metadata": {**template.get("metadata", {}), "name": f"{name}-0"}, "spec": template["spec"]}

    def airflow_cfg(self) -> dict[str, str]:
        text = self.config_maps()["airflow-config"]["airflow.cfg"]
        return {name: line.split(" = ", 1)[1] for name, line in cfg_lines(text) if name}


def cfg_lines(text: str) -> Iterator[tuple[str, str]]:
    """Each line of an airflow.cfg with the `section.key` it sets ("" for any other line)."""
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        yield (f"{section}.{line.split(' = ', 1)[0]}" if " = " in line else ""), line


def render(out: Path) -> Render:
    if not PROJECT_PYTHON.exists():
        subprocess.run(["make", "-C", str(ROOT), ".venv/.dev"], check=True, stdout=subprocess.DEVNULL)
    settings = [arg for setting in RENDER_SETTINGS for arg in ("--set", setting)]
    subprocess.run([str(PROJECT_PYTHON), str(ROOT / "scripts" / "airflow_render.py"), str(out), *settings], check=True)
    data = json.loads(out.read_text())
    return Render(data["objects"], data["secrets"], data["outputs"], data["release"]["namespace"])


def without_settings(rendered: Render, drop: Sequence[str]) -> Render:
    """The render with `section.key` lines removed from airflow.cfg (a fault put in on purpose)."""
    if not drop:
        return rendered
    maps = rendered.config_maps()
    kept, dropped = [], set()
    for name, line in cfg_lines(maps["airflow-config"]["airflow.cfg"]):
        if name in drop:
            dropped.add(name)
            continue
        kept.append(line)
    if dropped != set(drop):
        raise SystemExit(f"--drop-setting {sorted(set(drop) - dropped)}: not in the rendered airflow.cfg")
    cfg = "\n".join([*kept, ""])
    objects = [
        {**o, "data": {**o["data"], "airflow.cfg": cfg}}
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "airflow-config"
        else o
        for o in rendered.objects
    ]
    return replace(rendered, objects=objects)


def scheduler_config(config_maps: Mapping[str, Mapping[str, str]]) -> dict[str, Mapping[str, str]]:
    """The scheduler's ConfigMaps: the render's, with `[core] executor` naming the emulated
    KubernetesExecutor (scripts/emulated_executor.py), the one key that differs."""
    cfg = config_maps["airflow-config"]["airflow.cfg"]
    rendered = "executor = KubernetesExecutor"
    assert cfg.splitlines().count(rendered) == 1, "the render's [core] executor changed"
    changed = cfg.replace(f"\n{rendered}\n", f"\nexecutor = {EXECUTOR}\n")
    return {**config_maps, "airflow-config": {**config_maps["airflow-config"], "airflow.cfg": changed}}


# --------------------------------------------------------------------------- HTTP


class Api:
    """The REST API as the admin: a token from the FAB auth manager's POST /auth/token."""

    def __init__(self, base: str) -> None:
        self.base, self.token = base, ""

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise RuntimeError(f"{method} {path}: {error.code} {detail}") from error
        return json.loads(text) if text else None

    def login(self, username: str, password: str) -> None:
        answer = self.call("POST", "/auth/token", {"username": username, "password": password}, auth=False)
        self.token = answer["access_token"]


def s3(endpoint: str, method: str, path: str) -> bytes:
    """moto's S3 without signatures (it accepts unsigned requests)."""
    request = urllib.request.Request(f"{endpoint}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"S3 {method} {path}: {error.code} {error.read().decode(errors='replace')[:500]}") from error
    return body


def s3_keys(endpoint: str, bucket: str, prefix: str) -> list[str]:
    import xml.etree.ElementTree as ET

    query = urllib.parse.urlencode({"list-type": "2", "prefix": prefix})
    tree = ET.fromstring(s3(endpoint, "GET", f"/{bucket}?{query}"))
    return [e.text or "" for e in tree.iter() if e.tag.endswith("}Key")]


# --------------------------------------------------------------------------- the run


class Report:
    """Each step: name, outcome, seconds, appended to the integration run's results."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        print(f"- {name} ...", flush=True)
        start = time.monotonic()
        ok = False
        try:
            yield
            ok = True
        except Exception as error:
            print(f"  {type(error).__name__}: {error}", flush=True)
        finally:
            took = time.monotonic() - start
            print(f"  {'ok' if ok else 'FAILED'} in {took:.1f} s", flush=True)
            self.steps.results.append((name, ok, took))
        if not ok:
            raise StepFailed(name)


class StepFailed(Exception):
    """A step the later ones need failed: the rest of the Airflow run is not attempted."""


def write_report(results: Sequence[tuple[str, bool, float]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{"name": n, "outcome": "passed" if ok else "failed", "seconds": round(s, 1)} for n, ok, s in results]
    path.write_text(json.dumps({"steps": entries}, indent=1) + "\n")


def poll(what: str, ready: Callable[[], Any], seconds: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = ready()
            if last:
                return last
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            last = error
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {seconds:.0f} s (last: {last!r})")


@dataclass
class Services:
    """What the run started for Airflow, and the names the render uses for them."""

    services: dict[str, int]
    endpoint: str
    bucket: str
    prefix: str
    postgres: int = 0
    """PostgreSQL's local port (behind PgBouncer)."""


@dataclass
class Finished:
    """A finished DAG run, for the property checks."""

    api: Api
    path: str
    tis: dict[tuple[str, int], dict[str, Any]]
    kubelet: Kubelet
    work: Path
    s3: Services

    def state(self, task_id: str, map_index: int = -1) -> tuple[str, int]:
        ti = self.tis[(task_id, map_index)]
        return ti["state"], ti["try_number"]

    def pods_of(self, task_id: str) -> list[dict[str, Any]]:
        return [p for p in self.kubelet.task_pods() if p["metadata"]["annotations"].get("task_id") == task_id]

    def logs(self) -> list[str]:
        return s3_keys(self.s3.endpoint, self.s3.bucket, f"{self.s3.prefix}/dag_id={DAG_ID}/")


def run(
    steps: Steps, tmp: Path, procs: Processes, pgbouncer_binary: Path, python: Path, drop: Sequence[str] = ()
) -> None:
    """The Airflow run; its steps are appended to `steps.results`. Stops what it started. `drop`:
    `section.key` settings removed from the rendered airflow.cfg (to show which check catches it)."""
    airflow = AirflowRun(Report(steps), tmp / "airflow-run", procs, python)
    try:
        airflow.run(pgbouncer_binary, drop)
    except StepFailed:
        pass
    finally:
        airflow.stop()


class AirflowRun:
    """The phases of the run, each a step (or several), and what they started."""

    def __init__(self, report: Report, work: Path, procs: Processes, python: Path) -> None:
        self.report, self.work, self.procs, self.python = report, work, procs, python
        work.mkdir()
        work.chmod(0o755)
        give_away(work)
        self.started: list[subprocess.Popen[bytes]] = []
        self.kubelet: Kubelet | None = None

    def stop(self) -> None:
        if self.kubelet is not None:
            self.kubelet.stop()
            for pod in self.kubelet.pods.values():
                if pod.proc is not None:
                    stop_group(pod.proc, 5)
        for proc in reversed(self.started):
            stop_group(proc)

    def run(self, pgbouncer_binary: Path, drop: Sequence[str]) -> None:
        report = self.report
        with report.step("render the chart for the prod stack (program under mocks, helm template)"):
            rendered = without_settings(render(self.work / "render.json"), drop)
        with report.step("PostgreSQL and PgBouncer with the plan's database user, moto (S3, STS)"):
            started = self.start_services(rendered, pgbouncer_binary)
        kubelet = self.kubelet = self.make_kubelet(rendered, started)
        with report.step("the migration and create-user Jobs (rendered pods)"):
            for job in JOBS:
                kubelet.run_to_completion(rendered.pod("Job", job), timeout=300)
        for claim in kubelet.cluster.claims.values():
            claim.mkdir(parents=True, exist_ok=True)
        shutil.copy(DAG_FILE, kubelet.cluster.claims["airflow-dags"] / DAG_FILE.name)
        with report.step("connections and variables in Secrets Manager (moto): the platform's and a team's prefixes"):
            region = self.put_secrets(rendered, started)
            env = team_backend_env(TEAM, TEAMS_PREFIX, region)
            (kubelet.cluster.claims["airflow-dags"] / TEAM_BACKEND_FILE).write_text(json.dumps(env))
        api_port = next(p for s, p in started.services.items() if s.startswith("airflow-api-server."))
        base = f"http://127.0.0.1:{api_port}"
        with report.step("API server, scheduler, DAG processor, triggerer (rendered pods) start"):
            self.started += start_components(rendered, kubelet, api_port)
            poll("API server health", lambda: _healthy(base), START_TIMEOUT_SECONDS, 2)
        kubelet.start()
        api = Api(base)
        path, tis = self.run_dag(api, rendered)
        check_properties(report, Finished(api, path, tis, kubelet, self.work, started))
        # A task pod's credentials, the pool, the admission policy (scripts/task_pod_checks.py).
        task_pod_checks.checks(report.step, rendered, kubelet, started, api.call, self.work)

    def start_services(self, rendered: Render, pgbouncer_binary: Path) -> Services:
        db = task_pod_checks.database_uri(rendered)
        pg_port = start_postgres_for(self.work, self.procs, db)
        # PgBouncer's files for the plan's URI at the host name scripts/integration.py's substitute expects.
        target = pgbouncer.parse_database_uri(
            connection_uri(db.username, db.password, RDS_HOST, DEFAULT_PORT, db.dbname)
        )
        server = f"{SERVER_HOST} port={pg_port}"
        services = rendered.services()
        pgb = start_pgbouncer(
            pgbouncer_binary, target, server, self.work, "pgbouncer", self.work / "ca.pem", self.procs, []
        )
        pgb_service = pgbouncer.pgbouncer_service_host(rendered.namespace, RELEASE_NAME)
        services[f"{pgb_service}:{pgbouncer.PGBOUNCER_PORT}"] = pgb
        moto_port = free_port()
        moto = [str(self.python.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)]
        self.procs.start("moto", moto, self.work / "moto.log")
        endpoint = f"http://127.0.0.1:{moto_port}"
        poll("moto", lambda: s3(endpoint, "GET", "/") is not None, 30, 0.3)
        logs = urllib.parse.urlparse(rendered.airflow_cfg()["logging.remote_base_log_folder"])
        s3(endpoint, "PUT", f"/{logs.netloc}")
        return Services(services, endpoint, logs.netloc, logs.path.strip("/"), pg_port)

    def put_secrets(self, rendered: Render, started: Services) -> str:
        """The secrets the DAG's two Secrets Manager tasks read, created in moto with boto3 (the
        Airflow virtualenv's), under the prefixes the rendered airflow.cfg gives the backend and the
        team's; returns the backend's region."""
        kwargs = json.loads(rendered.airflow_cfg()["secrets.backend_kwargs"])
        team = TEAM.prefixes(TEAMS_PREFIX)
        secrets = {
            f"{kwargs['connections_prefix']}/{SM_CONNECTION[0]}": json.dumps(SM_CONNECTION[1]),
            f"{kwargs['variables_prefix']}/{SM_VARIABLE[0]}": SM_VARIABLE[1],
            f"{team.connections}/{TEAM_CONNECTION[0]}": json.dumps(TEAM_CONNECTION[1]),
            f"{team.variables}/{TEAM_VARIABLE[0]}": TEAM_VARIABLE[1],
        }
        script = (
            "import boto3, json, sys\n"
            "client = boto3.client('secretsmanager', region_name=sys.argv[1], endpoint_url=sys.argv[2],"
            " aws_access_key_id='testing', aws_secret_access_key='testing')\n"
            "for name, value in json.loads(sys.argv[3]).items():\n"
            "    client.create_secret(Name=name, SecretString=value)\n"
        )
        region = str(kwargs["region_name"])
        subprocess.run([str(self.python), "-c", script, region, started.endpoint, json.dumps(secrets)], check=True)
        return region

    def make_kubelet(self, rendered: Render, started: Services) -> Kubelet:
        claims = {"airflow-dags": self.work / "claims" / "dags", "airflow-logs": self.work / "claims" / "logs"}
        cluster = Cluster(rendered.namespace, rendered.secrets, rendered.config_maps(), claims)
        local = Local(
            services=started.services,
            external_hosts=[rendered.airflow_cfg()["metrics.statsd_host"]],
            python_bin=self.python.parent,
            aws_endpoint=started.endpoint,
        )
        (self.work / "pods").mkdir()
        return Kubelet(self.work, cluster, local, self.procs)

    def run_dag(self, api: Api, rendered: Render) -> tuple[str, dict[tuple[str, int], dict[str, Any]]]:
        """The DAG run's path in the API, and its task instances by (task_id, map_index)."""
        report = self.report
        with report.step("REST API: token for the generated admin (POST /auth/token)"):
            api.login(ADMIN_USERNAME, rendered.secrets[str(SECRET_NAMES.admin_password)][ADMIN_PASSWORD_KEY])
        with report.step("the DAG parsed by the DAG processor; connection and variable created through the API"):
            poll("DAG parsed", lambda: api.call("GET", f"/api/v2/dags/{DAG_ID}"), 120, 2)
            api.call("POST", "/api/v2/connections", CONNECTION)
            api.call("POST", "/api/v2/variables", VARIABLE)
            api.call("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        with report.step("DAG run through the REST API to success"):
            run_id = api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})["dag_run_id"]
            path = f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}"
            final = poll("DAG run", lambda: _finished(api, path), RUN_TIMEOUT_SECONDS, 2)
            assert final == "success", f"the DAG run ended {final}"
        listed = api.call("GET", f"{path}/taskInstances")["task_instances"]
        return path, {(t["task_id"], t["map_index"]): t for t in listed}


def start_postgres_for(work: Path, procs: Processes, db: pgbouncer.DatabaseUri) -> int:
    """scripts/integration.py's PostgreSQL (TLS, SCRAM), Airflow's login role given the plan's password."""
    if db.username != ROLES.login:
        raise RuntimeError(f"the plan's Airflow role is {db.username}, the run's {ROLES.login}")
    make_certificates(work)
    return start_postgres(work, procs, db.password)


def start_components(rendered: Render, kubelet: Kubelet, api_port: int) -> list[subprocess.Popen[bytes]]:
    """Each Deployment's init containers (to completion, concurrently across pods), then its containers."""
    pods = {name: rendered.pod("Deployment", name) for name in COMPONENTS}
    clusters = {name: kubelet.cluster for name in COMPONENTS}
    clusters["airflow-scheduler"] = replace(kubelet.cluster, config_maps=scheduler_config(kubelet.cluster.config_maps))
    inits = [
        kubelet.start_container(pods[n], c["name"], clusters[n])
        for n in COMPONENTS
        for c in pods[n]["spec"].get("initContainers") or []
    ]
    codes = [p.wait(300) for p in inits]
    if any(codes):
        raise RuntimeError(f"init containers exited {codes}")
    # The scheduler's image carries the emulated executor in $AIRFLOW_HOME/config (on sys.path).
    config_dir = kubelet.tmp / "pods" / pods["airflow-scheduler"]["metadata"]["name"] / "opt" / "airflow" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXECUTOR_FILE, config_dir / EXECUTOR_FILE.name)
    (config_dir / "emulated-kubelet").symlink_to(kubelet.spool, target_is_directory=True)
    local, started = kubelet.local, []
    for name in COMPONENTS:
        for c in pods[name]["spec"]["containers"]:
            if c["name"] in NOT_RUN:
                continue
            listen = {}
            if name == "airflow-api-server":
                listen = {"AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(api_port)}
            kubelet.local = replace(local, listen=listen)
            started.append(kubelet.start_container(pods[name], c["name"], clusters[name]))
    kubelet.local = local
    return started


def _healthy(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as response:
        return bool(response.status == 200)


def _finished(api: Api, path: str) -> str | None:
    state: str = api.call("GET", path)["state"]
    return state if state in ("success", "failed") else None


# --------------------------------------------------------------------------- the properties


def parallel(run: Finished) -> None:
    mapped = [run.tis[("parallel", i)] for i in range(3)]
    assert [(t["state"], t["try_number"]) for t in mapped] == [("success", 1)] * 3, mapped
    assert max(t["start_date"] for t in mapped) < min(t["end_date"] for t in mapped), "the three did not overlap"
    assert len(run.pods_of("parallel")) == 3, [p["metadata"]["name"] for p in run.pods_of("parallel")]


def retry(run: Finished) -> None:
    assert run.state("flaky") == ("success", 2), run.state("flaky")
    tries = run.api.call("GET", f"{run.path}/taskInstances/flaky/tries")["task_instances"]
    # The history keeps each try's final state: the first failed (the task instance went up for retry).
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")], tries
    assert len(run.pods_of("flaky")) == 2, [p["metadata"]["name"] for p in run.pods_of("flaky")]


def deferred(run: Finished) -> None:
    assert run.state("deferred") == ("success", 1), run.state("deferred")
    # Deferred, then resumed: two pods for one try; the trigger's log, written and uploaded by the
    # triggerer, is named after the triggerer's job (`attempt=1.log.trigger.<job id>.log`).
    assert len(run.pods_of("deferred")) == 2, [p["metadata"]["name"] for p in run.pods_of("deferred")]
    marker = "/task_id=deferred/attempt=1.log.trigger."
    keys = poll("the trigger's log in S3", lambda: [k for k in run.logs() if marker in k], 30)
    assert len(keys) == 1, keys
    triggerers = run.api.call("GET", "/api/v2/jobs?job_type=TriggererJob")["jobs"]
    job_id = keys[0].split(marker, 1)[1].removesuffix(".log")
    assert job_id in {str(j["id"]) for j in triggerers}, (job_id, triggerers)
    # The API serves the try's log with the trigger's, read from S3.
    served = json.dumps(run.api.call("GET", f"{run.path}/taskInstances/deferred/logs/1?full_content=true"))
    assert f"s3://{run.s3.bucket}/{keys[0]}" in served, served[:2000]


def connection_and_variable(run: Finished) -> None:
    assert run.state("reads_connection_and_variable") == ("success", 1)
    entry = f"{run.path}/taskInstances/reads_connection_and_variable/xcomEntries/return_value?deserialize=true"
    xcom = run.api.call("GET", entry)["value"]
    value = json.loads(xcom) if isinstance(xcom, str) else xcom
    expected = {k: CONNECTION[k] for k in ("host", "login", "password")}
    assert value == {"connection": expected, "variable": VARIABLE["value"]}, value


def _returned(run: Finished, task_id: str) -> Any:
    assert run.state(task_id) == ("success", 1), run.state(task_id)
    xcom = run.api.call("GET", f"{run.path}/taskInstances/{task_id}/xcomEntries/return_value?deserialize=true")["value"]
    return json.loads(xcom) if isinstance(xcom, str) else xcom


def secrets_manager(run: Finished) -> None:
    """Only in Secrets Manager: the task asked the API server, which read the backend."""
    value = _returned(run, "reads_secrets_manager")
    expected = {k: SM_CONNECTION[1][k] for k in ("host", "login")}
    assert value == {"connection": expected, "variable": SM_VARIABLE[1]}, value


def team_secrets(run: Finished) -> None:
    """Only under the team's prefix, which the platform's backend does not read: the task's own process did."""
    value = _returned(run, "reads_team_secrets")
    expected = {k: TEAM_CONNECTION[1][k] for k in ("host", "login")}
    assert value == {"connection": expected, "variable": TEAM_VARIABLE[1]}, value


def remote_logs(run: Finished) -> None:
    """Each attempt's log, uploaded by the task's own process when it exits (possibly after the
    run is marked successful)."""
    wanted = [
        *(f"/task_id=parallel/map_index={i}/attempt=1.log" for i in range(3)),
        "/task_id=flaky/attempt=1.log",
        "/task_id=flaky/attempt=2.log",
        "/task_id=deferred/attempt=1.log",
        "/task_id=reads_connection_and_variable/attempt=1.log",
    ]

    def uploaded() -> bool:
        keys = run.logs()
        return all(any(k.endswith(w) for k in keys) for w in wanted)

    poll(f"the task logs under s3://{run.s3.bucket}/{run.s3.prefix}/", uploaded, 30)


def logs_served(run: Finished) -> None:
    """The local copy removed (the logs claim), the API must read the first try's log from S3."""
    local = [p for p in (run.work / "claims" / "logs").rglob("attempt=1.log") if "task_id=flaky" in str(p)]
    assert len(local) == 1, local
    local[0].unlink()
    served = json.dumps(run.api.call("GET", f"{run.path}/taskInstances/flaky/logs/1?full_content=true"))
    assert "first try fails on purpose" in served, served[:2000]
    assert f"s3://{run.s3.bucket}/{run.s3.prefix}/" in served, served[:2000]


def tokens_signed(run: Finished) -> None:
    jwt_checks.check(
        run.kubelet.local.python_bin / "python",
        run.kubelet.cluster.secrets,
        run.kubelet.task_pods(),
        run.api.base,
        run.work,
    )


PROPERTIES: dict[str, Callable[[Finished], None]] = {
    "parallel tasks: three pods at once (run times overlap)": parallel,
    "a task that fails once succeeds on its retry (try 2)": retry,
    "a deferrable sensor waits on the triggerer, then resumes": deferred,
    "a task reads a connection and a variable (task SDK, XCom back)": connection_and_variable,
    "a task reads a connection and a variable from Secrets Manager (through the API server)": secrets_manager,
    "a team's task reads its own prefix in Secrets Manager (its pod's backend)": team_secrets,
    "task logs uploaded to S3 under the configured prefix": remote_logs,
    "the API serves a task's log from S3 (local copy removed)": logs_served,
    "task tokens are RS256 with the program's key; the API server refuses another key's": tokens_signed,
}


def check_properties(report: Report, run: Finished) -> None:
    """One step per property; each fails on its own (the others still run)."""
    for name, check in PROPERTIES.items():
        try:
            with report.step(name):
                check(run)
        except StepFailed:
            continue
    if run.kubelet.errors:
        with report.step("the emulated kubelet ran every pod"):
            raise RuntimeError("; ".join(run.kubelet.errors))


def main(argv: Sequence[str] | None = None) -> int:
    """This run alone (without the database steps), for development: `python3 scripts/airflow_run.py`."""
    import argparse
    import tempfile

    from scripts.integration import AIRFLOW_VENV, REPORT, install_pgbouncer

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--drop-setting", action="append", default=[], help="remove airflow.cfg's section.key")
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="airflow-run-"))
    tmp.chmod(0o755)
    give_away(tmp)
    print(f"Airflow run in {tmp}")
    python = AIRFLOW_VENV / "bin" / "python"
    procs = Processes()
    steps = Steps(tmp, python)
    try:
        run(steps, tmp, procs, install_pgbouncer(), python, options.drop_setting)
    finally:
        procs.stop_all()
        write_report(steps.results, REPORT)
    for name, ok, took in steps.results:
        print(f"{'PASS' if ok else 'FAIL'} {took:6.1f} s  {name}")
    failed = not steps.results or not all(ok for _, ok, _ in steps.results)
    if not (options.keep or failed):
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
