"""The Airflow chart's values (lib/airflow/values.py), without Pulumi: plain settings in, values out.

The values are validated against the official chart's own values.schema.json, read from the
chart at the pinned version (offline/chart.py says where it comes from), plus a check the schema
lacks: every top-level key is one of the chart's. tests/renders/test_chart_render.py renders the chart.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from components.airflow import RELEASE_TIMEOUT_SECONDS
from config.settings import Settings
from lib.airflow.configuration import (
    EXECUTION_API_TIMEOUT_SECONDS,
    EXECUTION_JWT_SECONDS,
    TASK_INSTANCE_HEARTBEAT_TIMEOUT_SECONDS,
    TASK_QUEUED_TIMEOUT_SECONDS,
    worst_execution_api_seconds,
)
from lib.airflow.git_sync import DAGS_MOUNT_PATH, dags_folder
from lib.airflow.resources import RESOURCE_PROFILES, ResourceProfile
from lib.airflow.secret_files import command_variables
from lib.airflow.secrets import SecretNames
from lib.airflow.telemetry import RemoteLogs, StatsdTarget
from lib.airflow.values import (
    API_SERVER_PORT,
    API_SERVER_PRE_STOP_SECONDS,
    COMPONENT_LABELS,
    MIGRATIONS_WAIT_SECONDS,
    PDB_SECTIONS,
    ChartInputs,
    airflow_values,
    api_server_service_name,
)
from lib.cluster.node_groups import NodeGroup
from lib.cluster.scheduling import HOST_KEY, NODE_GROUP_LABEL, ZONE_KEY
from lib.database.pgbouncer.pools import (
    DB_HEADROOM_PERCENT,
    PGBOUNCER_PORT,
    parse_database_uri,
    pgbouncer_client_uri,
    pgbouncer_ini,
    pgbouncer_pools,
    pgbouncer_stats_uri,
    pgbouncer_users,
)
from lib.merge import deep_merge
from lib.quantities import cpu_millicores as cpu
from lib.quantities import memory_mebibytes as memory
from tests.support.chart_values import CONTROL_PLANE, JOBS, chart_schema, schema_errors
from tests.support.settings import settings_of

SECRETS = SecretNames(
    metadata="meta",
    fernet_key="fernet",
    api_secret_key="api",
    jwt_signing_key="jwt",
    webserver_secret_key="web",
    pgbouncer_config="pgb-config",
    pgbouncer_stats="pgb-stats",
    admin_password="admin",
)


def values_for(settings: Settings, **changes: Any) -> dict[str, Any]:
    """The values for a stack's settings (claims and Secrets named here), with `ChartInputs` fields changed."""
    a = settings.airflow
    inputs = ChartInputs(
        airflow_version=a.airflow_version,
        replicas=a.replicas,
        resource_profile=a.resource_profile,
        control_plane=settings.node_group("airflow"),
        workers=settings.node_group("workers"),
        secrets=SECRETS if a.create_admin_user else replace(SECRETS, admin_password=None),
        dags_claim="claim-dags",
        logs_claim="claim-logs",
        namespace="airflow",
        dags_folder=dags_folder(a.git_sync.sub_path if a.git_sync else None),
        overrides=a.values,
    )
    return airflow_values(replace(inputs, **changes))


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_values_of_both_stacks_meet_the_chart_schema(stack: str) -> None:
    assert schema_errors(values_for(settings_of(stack))) == []


def test_values_of_every_option_meet_the_chart_schema() -> None:
    settings = settings_of("dev")
    variants: tuple[dict[str, Any], ...] = (
        {"secrets": replace(SECRETS, admin_password=None)},
        {"dags_folder": dags_folder("pipelines/dags")},
        *({"resource_profile": p} for p in ResourceProfile),
    )
    for changes in variants:
        assert schema_errors(values_for(settings, **changes)) == [], changes


def deprecated_paths(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> list[str]:
    """Every key of `values` whose schema description says it is deprecated (chart 1.22 marks
    each one so: "(deprecated, use `workers.kubernetes.nodeSelector` ...)")."""
    found = []
    properties = schema.get("properties") or {}
    for key, value in values.items():
        if key not in properties:
            continue
        where = f"{path}{key}"
        if "deprecated" in (properties[key].get("description") or "").lower():
            found.append(where)
        elif isinstance(value, dict):
            found += deprecated_paths(value, properties[key], f"{where}.")
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_value_uses_a_key_the_chart_deprecates(stack: str) -> None:
    settings = settings_of(stack)
    remote = RemoteLogs(bucket="logs", role_arn="arn:aws:iam::123456789012:role/logs", region="us-east-1")
    everything = values_for(
        settings,
        worker_role_arn="arn:aws:iam::123456789012:role/tasks",
        statsd=StatsdTarget("agent", 8125, "airflow"),
        remote_logs=remote,
        secrets=SECRETS,
    )
    assert deprecated_paths(everything, chart_schema()) == []
    assert schema_errors(everything) == []


def test_the_deprecation_check_finds_the_keys_of_chart_1_18() -> None:
    old = {"workers": {"nodeSelector": {}, "serviceAccount": {"create": True}}, "webserver": {"defaultUser": {}}}
    found = deprecated_paths(old, chart_schema())
    assert found == ["workers.nodeSelector", "workers.serviceAccount", "webserver.defaultUser"]


def test_the_schema_check_catches_a_misspelt_top_level_key_and_a_bad_nested_value() -> None:
    values = values_for(settings_of("dev"))
    assert schema_errors(values) == []
    misspelt = {**values, "pgbouncr": values["pgbouncer"]}
    assert schema_errors(misspelt) == ["pgbouncr: not a top-level value of the chart"]
    bad_nested = deep_merge(values, {"scheduler": {"replicas": "two"}})
    assert [e for e in schema_errors(bad_nested) if e.startswith("scheduler.replicas")], schema_errors(bad_nested)
    bad_executor = {**values, "executor": "KubernetesExecuter"}
    assert [e for e in schema_errors(bad_executor) if e.startswith("executor")]


# --------------------------------------------------------------------------- what the values give


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_executor_database_and_keys_come_from_named_secrets(stack: str) -> None:
    v = values_for(settings_of(stack))
    assert v["executor"] == "KubernetesExecutor"
    assert v["postgresql"] == {"enabled": False}
    assert v["redis"] == {"enabled": False}
    assert v["data"] == {"metadataSecretName": SECRETS.metadata}
    assert (v["fernetKeySecretName"], v["apiSecretKeySecretName"], v["jwtSecretName"]) == ("fernet", "api", "jwt")
    assert v["webserverSecretKeySecretName"] == "web"
    assert v["pgbouncer"]["configSecretName"] == SECRETS.pgbouncer_config
    assert v["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"] == SECRETS.pgbouncer_stats
    # The values name secrets; they never hold a key, a password or a connection string.
    text = json.dumps(v)
    for key in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"):
        assert key not in v
    assert "postgresql://" not in text and "metadataConnection" not in v["data"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_replicas_follow_settings(stack: str) -> None:
    settings = settings_of(stack)
    v = values_for(settings)
    s = settings.airflow
    assert v["scheduler"]["replicas"] == s.scheduler_replicas
    assert v["apiServer"]["replicas"] == s.api_server_replicas
    assert v["triggerer"]["replicas"] == s.triggerer_replicas
    assert v["dagProcessor"]["replicas"] == s.dag_processor_replicas
    assert v["pgbouncer"]["replicas"] == s.pgbouncer_replicas
    assert v["dagProcessor"]["enabled"] is True
    assert v["pgbouncer"]["enabled"] is True


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_disruption_budgets_and_spread_on_the_control_plane(stack: str) -> None:
    v = values_for(settings_of(stack))
    schema = chart_schema()["properties"]
    offered = {s for s in CONTROL_PLANE if "podDisruptionBudget" in schema[s]["properties"]}
    assert offered == set(PDB_SECTIONS) == set(CONTROL_PLANE)  # chart 1.22 offers one for each
    for section in PDB_SECTIONS:
        assert v[section]["podDisruptionBudget"] == {"enabled": True, "config": {"maxUnavailable": 1}}
    for section in CONTROL_PLANE:
        constraints = v[section]["topologySpreadConstraints"]
        assert {c["topologyKey"]: c["whenUnsatisfiable"] for c in constraints} == {
            ZONE_KEY: "DoNotSchedule",  # reports/az_loss.py counts ScheduleAnyway as no zone spread
            HOST_KEY: "DoNotSchedule",
        }, section
        for c in constraints:
            assert c["maxSkew"] == 1
            assert c["labelSelector"]["matchLabels"]["component"] == COMPONENT_LABELS[section]
            assert c["labelSelector"]["matchLabels"]["release"] == "airflow"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_control_plane_on_the_airflow_group_and_task_pods_on_the_tainted_workers(stack: str) -> None:
    settings = settings_of(stack)
    v = values_for(settings)
    airflow_group = {NODE_GROUP_LABEL: "airflow"}
    for section in (*CONTROL_PLANE, "statsd", *JOBS):
        assert v[section]["nodeSelector"] == airflow_group, section
    assert v["nodeSelector"] == airflow_group  # anything else the chart adds
    workers = settings.node_group("workers")
    assert set(v["workers"]) == {"kubernetes"}  # chart 1.22: the task pods' keys, no deprecated `workers.*`
    task_pods = v["workers"]["kubernetes"]
    assert task_pods["nodeSelector"] == {NODE_GROUP_LABEL: "workers"}
    tolerated = {(t["key"], t["operator"], t["value"], t["effect"]) for t in task_pods["tolerations"]}
    assert tolerated == {(t.key, "Equal", t.value, t.effect.kubernetes) for t in workers.taints}
    assert tolerated and all(effect == "NoSchedule" for *_, effect in tolerated)


def test_placement_follows_the_node_groups_given() -> None:
    settings = settings_of("dev")
    other = NodeGroup(name="batch", instance_types=("m6i.large",), min_size=0, desired_size=0, max_size=3)
    v = values_for(settings, control_plane=other)
    assert v["scheduler"]["nodeSelector"] == {NODE_GROUP_LABEL: "batch"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_jobs_run_without_helm_hooks_or_custom_env(stack: str) -> None:
    v = values_for(settings_of(stack))
    for job in JOBS:
        assert v[job]["useHelmHooks"] is False and v[job]["applyCustomEnv"] is False, job


def test_admin_user_password_comes_from_a_secret_through_a_mounted_file() -> None:
    v = values_for(settings_of("dev"))
    assert "webserver" not in v  # chart 1.19 deprecated `webserver.defaultUser` for `createUserJob`
    job = v["createUserJob"]
    assert job["enabled"] is True
    assert job["defaultUser"]["password"] == ""
    assert [e["name"] for e in job["env"]] == [e["name"] for e in command_variables()]  # no password variable
    (volume,) = job["extraVolumes"]
    sources = [s["secret"] for s in volume["projected"]["sources"]]
    assert sources[-1] == {"name": SECRETS.admin_password, "items": [{"key": "password", "path": "admin_password"}]}
    assert job["extraVolumeMounts"] == [{"name": volume["name"], "mountPath": "/opt/airflow/secrets", "readOnly": True}]
    script = job["args"][2]
    assert '--password "$(cat /opt/airflow/secrets/admin_password)"' in script and "users create" in script
    # Chart 1.22 gives this Job no wait for migrations: it waits itself, before anything else.
    assert script.startswith(f"airflow db check-migrations --migration-wait-timeout={MIGRATIONS_WAIT_SECONDS} && ")
    assert "defaultUser.password" not in json.dumps(job["args"])
    assert v["config"]["core"]["auth_manager"].endswith("FabAuthManager")  # `airflow users create`


def test_no_admin_user_when_turned_off() -> None:
    v = values_for(settings_of("dev", airflowCreateAdminUser=False))
    assert v["createUserJob"]["enabled"] is False and "defaultUser" not in v["createUserJob"]
    assert "args" not in v["createUserJob"]
    assert not any("valueFrom" in e for e in v["createUserJob"]["env"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_dags_and_logs_on_the_claims_without_git_sync_by_default(stack: str) -> None:
    v = values_for(settings_of(stack))
    assert v["dags"]["persistence"] == {"enabled": True, "existingClaim": "claim-dags"}
    assert v["logs"]["persistence"] == {"enabled": True, "existingClaim": "claim-logs"}
    assert v["dags"]["gitSync"] == {"enabled": False}
    assert v["config"]["core"]["dags_folder"] == DAGS_MOUNT_PATH == "/opt/airflow/dags"
    assert v["config"]["logging"]["remote_logging"] == "False"
    assert v["config"]["kubernetes_executor"]["delete_worker_pods"] == "True"


def test_git_sync_leaves_the_chart_git_sync_off_and_points_dags_folder_at_its_link() -> None:
    settings = settings_of(
        "dev",
        gitSyncRepo="https://git.example.com/dags.git",
        gitSyncBranch="release",
        gitSyncSubPath="airflow/dags",
        gitSyncCredentialsSecret="git-creds",
    )
    v = values_for(settings)
    # Chart 1.22 renders its git-sync nowhere with persistence on and a standalone DAG processor.
    assert v["dags"]["gitSync"] == {"enabled": False}
    assert v["dags"]["persistence"] == {"enabled": True, "existingClaim": "claim-dags"}
    assert v["config"]["core"]["dags_folder"] == "/opt/airflow/dags/repo/airflow/dags"
    top = values_for(settings_of("dev", gitSyncRepo="https://git.example.com/dags.git", gitSyncSubPath=""))
    assert top["config"]["core"]["dags_folder"] == "/opt/airflow/dags/repo"


def test_api_server_drains_before_it_stops() -> None:
    v = values_for(settings_of("prod"))
    hook = v["apiServer"]["containerLifecycleHooks"]["preStop"]
    assert hook == {"exec": {"command": ["sleep", str(API_SERVER_PRE_STOP_SECONDS)]}}
    assert 0 < API_SERVER_PRE_STOP_SECONDS < 30  # within the pod's default grace period


def test_api_server_is_a_cluster_ip_service_the_nlb_binds_to() -> None:
    v = values_for(settings_of("prod"))
    assert v["apiServer"]["service"] == {"type": "ClusterIP"}
    assert api_server_service_name() == "airflow-api-server"
    assert api_server_service_name("prod") == "prod-airflow-api-server"  # the chart's fullname rule
    url = v["config"]["core"]["execution_api_server_url"]
    assert url == f"http://airflow-api-server.airflow:{API_SERVER_PORT}/execution/"


# --------------------------------------------------------------------------- resources


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_component_has_requests_and_limits_from_the_profile(stack: str) -> None:
    settings = settings_of(stack)
    v = values_for(settings)
    profile = RESOURCE_PROFILES[settings.airflow.resource_profile]
    sections = {
        **{s: v[s] for s in (*CONTROL_PLANE, "statsd", *JOBS)},
        "workers": v["workers"]["kubernetes"],
        "pgbouncerExporter": v["pgbouncer"]["metricsExporterSidecar"],
    }
    for section, values in sections.items():
        resources = values["resources"]
        assert set(resources) == {"requests", "limits"}, section
        for kind in ("cpu", "memory"):
            assert resources["requests"][kind] and resources["limits"][kind], section
        assert cpu(resources["requests"]["cpu"]) <= cpu(resources["limits"]["cpu"]), section
        assert memory(resources["requests"]["memory"]) <= memory(resources["limits"]["memory"]), section
        key = "jobs" if section in JOBS else section
        assert resources == profile[key].values(), section


def test_profiles_grow_from_small_to_large() -> None:
    small, medium, large = (RESOURCE_PROFILES[p] for p in ResourceProfile)
    assert set(small) == set(medium) == set(large)
    for component in small:
        for lower, upper in ((small, medium), (medium, large)):
            assert cpu(lower[component].cpu_request) < cpu(upper[component].cpu_request), component
            assert memory(lower[component].memory_request) < memory(upper[component].memory_request), component


# --------------------------------------------------------------------------- PgBouncer


@pytest.mark.parametrize("max_connections", [100, 181, 450, 901, 1802, 5000])
@pytest.mark.parametrize("replicas", [1, 2, 3, 10])
def test_pgbouncer_pools_stay_within_the_database_budget(max_connections: int, replicas: int) -> None:
    pools = pgbouncer_pools(max_connections, replicas)
    budget = max_connections * (100 - DB_HEADROOM_PERCENT) / 100
    used = replicas * (pools.metadata_pool_size + pools.result_backend_pool_size)
    assert used <= budget
    assert used > budget - 2 * replicas  # the budget is used, up to rounding
    assert pools.metadata_pool_size > pools.result_backend_pool_size >= 1
    assert pools.max_client_conn >= max(100, pools.metadata_pool_size)


def test_pgbouncer_pools_refuse_a_database_too_small() -> None:
    with pytest.raises(ValueError, match="no metadata pool"):
        pgbouncer_pools(2, 2)
    with pytest.raises(ValueError):
        pgbouncer_pools(100, 0)


def test_values_leave_the_pools_to_the_program_written_ini() -> None:
    """With `configSecretName`, the chart renders no pgbouncer.ini of its own: pool values would
    be ignored, so the values carry none (the Secret the program writes holds them)."""
    v = values_for(settings_of("prod"))["pgbouncer"]
    assert v["configSecretName"] == SECRETS.pgbouncer_config
    assert not {"maxClientConn", "metadataPoolSize", "resultBackendPoolSize", "sslmode"} & set(v)


def test_database_uri_is_parsed_and_decoded() -> None:
    db = parse_database_uri("postgresql://air%40flow:p%40ss%22w%2Frd@db.example.com:5433/meta?sslmode=require")
    assert (db.username, db.password, db.host, db.port, db.dbname) == (
        "air@flow",
        'p@ss"w/rd',
        "db.example.com",
        5433,
        "meta",
    )
    assert db.userinfo == "air%40flow:p%40ss%22w%2Frd"
    with pytest.raises(ValueError):
        parse_database_uri("mysql://u:p@h/db")


def test_pgbouncer_files_and_uris() -> None:
    db = parse_database_uri("postgresql://airflow:s%3Ecret%22@db.example.com:5432/airflow?sslmode=require")
    pools = pgbouncer_pools(450, 1)
    ini = pgbouncer_ini(db, pools, "airflow")
    lines = ini.splitlines()
    meta = f"airflow-metadata = host=db.example.com port=5432 dbname=airflow pool_size={pools.metadata_pool_size}"
    assert meta in lines
    assert f"max_client_conn = {pools.max_client_conn}" in lines
    assert f"listen_port = {PGBOUNCER_PORT}" in lines
    assert "server_tls_sslmode = require" in lines  # TLS to the database, as the URI requires
    assert "stats_users = airflow" in lines
    assert "s>cret" not in ini  # the password lives in users.txt only
    assert pgbouncer_users(db) == '"airflow" "s>cret"""\n'
    client = pgbouncer_client_uri(db, "airflow", "airflow")
    assert client == f"postgresql://airflow:s%3Ecret%22@airflow-pgbouncer.airflow:{PGBOUNCER_PORT}/airflow-metadata"
    assert pgbouncer_stats_uri(db).startswith("postgresql://airflow:s%3Ecret%22@127.0.0.1:6543/pgbouncer?")


# --------------------------------------------------------------------------- overrides


def test_user_values_are_merged_last() -> None:
    settings = settings_of(
        "dev",
        airflowValues={
            "scheduler": {"resources": {"limits": {"cpu": "3"}}, "nodeSelector": None},
            "config": {"core": {"load_examples": "True"}},
            "extraEnv": "- name: A\n  value: b\n",
        },
    )
    v = values_for(settings)
    assert v["scheduler"]["resources"]["limits"]["cpu"] == "3"  # a computed value, overridden
    assert v["scheduler"]["resources"]["requests"]  # siblings kept
    assert "nodeSelector" not in v["scheduler"]  # null removes, as in Helm
    assert v["scheduler"]["replicas"] == settings.airflow.scheduler_replicas
    assert v["config"]["core"]["load_examples"] == "True"
    assert v["config"]["core"]["auth_manager"].endswith("FabAuthManager")
    assert v["extraEnv"].startswith("- name: A")


def test_deep_merge_follows_helm() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "e": {"f": None}}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {}}
    assert deep_merge(base, {"a": None}) == {"d": 1}
    assert deep_merge(base, {"a": 5}) == {"a": 5, "d": 1}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not modified


# --------------------------------------------------------------------------- Airflow 3.3 settings


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_execution_api_client_timeout_and_retries_fit_inside_the_heartbeat_timeout(stack: str) -> None:
    config = values_for(settings_of(stack))["config"]
    assert config["workers"] == {
        "execution_api_timeout": "20.0",
        "execution_api_retries": "5",
        "execution_api_retry_wait_min": "1.0",
        "execution_api_retry_wait_max": "90.0",
    }
    heartbeat_timeout = float(config["scheduler"]["task_instance_heartbeat_timeout"])
    assert heartbeat_timeout == TASK_INSTANCE_HEARTBEAT_TIMEOUT_SECONDS == 300
    # One call given up on (5 attempts of 20 s and the waits between them) leaves the scheduler
    # time to see the failure before it would fail the task as silent.
    assert worst_execution_api_seconds() == 5 * 20 + 31 < heartbeat_timeout
    assert EXECUTION_API_TIMEOUT_SECONDS > 5  # the 3.0.2 fixed value (apache/airflow#56571)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_token_lifetimes(stack: str) -> None:
    config = values_for(settings_of(stack))["config"]
    # 3.3: a queued task's workload token lives [scheduler] task_queued_timeout.
    assert config["scheduler"]["task_queued_timeout"] == "1800.0"
    assert TASK_QUEUED_TIMEOUT_SECONDS >= 15 * 60 + 5 * 60  # a failed node provisioning, then a good one
    assert TASK_QUEUED_TIMEOUT_SECONDS <= RELEASE_TIMEOUT_SECONDS
    assert config["execution_api"] == {"jwt_expiration_time": "600"}
    # An execution token outlives the heartbeat timeout: it never expires on a task still alive.
    assert EXECUTION_JWT_SECONDS > TASK_INSTANCE_HEARTBEAT_TIMEOUT_SECONDS
    assert "standalone_dag_processor" not in config["scheduler"]  # not an option of Airflow 3.3.2


@pytest.mark.parametrize(("profile", "workers"), [("small", "1"), ("medium", "2"), ("large", "2")])
def test_api_server_runs_one_worker_per_core_of_its_limit(profile: str, workers: str) -> None:
    v = values_for(settings_of("dev"), resource_profile=ResourceProfile(profile))
    assert v["config"]["api"] == {"workers": workers}
    assert int(workers) == cpu(RESOURCE_PROFILES[ResourceProfile(profile)]["apiServer"].cpu_limit) // 1000
