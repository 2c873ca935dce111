"""The Airflow release and its Secrets (components/airflow.py) in both stacks' plans."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.airflow import FERNET_KEY_BYTES, SECRET_NAMES, fernet_key
from lib.airflow.secret_files import CONFIG_FILES
from lib.cluster.scheduling import HOST_KEY, ZONE_KEY
from lib.database.pgbouncer.pools import parse_database_uri, pgbouncer_pools
from lib.database.postgres import instance_memory_gib, max_connections
from lib.quantities import cpu_millicores as cpu
from lib.quantities import memory_mebibytes as memory
from offline.fakes import fake_secret
from offline.mocks import SECRET, Plan, Registration
from tests.support.chart_values import CONTROL_PLANE, JOBS, schema_errors
from tests.support.plans import SECRET_TYPE, plan_once, recorded_once, run_recording_secrets
from tests.support.renders import airflow_release
from tests.support.settings import settings_of

RELEASE = "kubernetes:helm.sh/v3:Release"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
NAMESPACE = "kubernetes:core/v1:Namespace"
MNG = "eks:index:ManagedNodeGroup"
CSI = "aws:eks/addon:Addon"
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
ROLLED_KEYS = ("api-secret-key", "webserver-secret-key")
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"


def values(plan: Plan) -> dict[str, Any]:
    v: dict[str, Any] = airflow_release(plan).inputs["values"]
    return v


def secret_named(plan: Plan, name: str) -> Registration:
    (found,) = [s for s in plan.of_type(SECRET_TYPE) if s.inputs["metadata"]["name"] == name]
    return found


def labels_of_group(plan: Plan, group: str) -> dict[str, str]:
    labels: dict[str, str] = plan.one(MNG, f"airflow-{plan.stack}-{group}").inputs["labels"]
    return labels


@pytest.fixture(scope="module")
def no_admin() -> Plan:
    return plan_once("dev", {"airflowCreateAdminUser": False})


@pytest.fixture(scope="module")
def overridden() -> Plan:
    overrides = {"scheduler": {"resources": {"limits": {"cpu": "3"}}}, "config": {"core": {"load_examples": None}}}
    return plan_once("dev", {"airflowValues": overrides})


# --------------------------------------------------------------------------- the release


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_airflow_release_of_the_official_chart(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    assert len(plan.of_type(RELEASE)) == 3  # Airflow and the two add-ons
    release = airflow_release(plan)
    i = release.inputs
    assert (i["chart"], i["version"], i["repositoryOpts"]) == (
        "airflow",
        "1.22.0",
        {"repo": "https://airflow.apache.org"},
    )
    assert i["name"] == "airflow" == plan.outputs["airflow_release_name"]
    assert plan.outputs["airflow_chart_version"] == "1.22.0"
    assert i["namespace"] == plan.outputs["airflow_namespace"] == "airflow"
    assert i["createNamespace"] is False
    assert i["atomic"] is True and i["cleanupOnFail"] is True
    # Helm waits for the Deployments (which wait for migrations), never for the Jobs, which
    # delete themselves after 300 s: a Job gone mid-wait failed it, and `atomic` rolled back.
    assert i["skipAwait"] is False and i["waitForJobs"] is False
    assert i["timeout"] >= 1200  # a first migration and every replica ready
    assert release.parent == plan.one("airflow:index:Airflow").urn
    assert plan.invokes == []  # no live cloud call while building the plan


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_release_values_meet_the_chart_schema(plans: dict[str, Plan], stack: str) -> None:
    assert schema_errors(values(plans[stack])) == []


def test_release_values_with_overrides_and_without_admin_meet_the_chart_schema(no_admin: Plan) -> None:
    assert schema_errors(values(no_admin)) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_values_name_the_secrets_the_program_creates(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    v = values(plan)
    assert v["executor"] == "KubernetesExecutor"
    assert v["postgresql"]["enabled"] is False and v["redis"]["enabled"] is False
    expected_keys = {
        v["data"]["metadataSecretName"]: {"connection"},
        v["fernetKeySecretName"]: {"fernet-key"},
        v["apiSecretKeySecretName"]: {"api-secret-key"},
        v["jwtSecretName"]: {"private-key.pem"},
        v["webserverSecretKeySecretName"]: {"webserver-secret-key"},
        v["pgbouncer"]["configSecretName"]: {"pgbouncer.ini", "users.txt"},
        v["pgbouncer"]["metricsExporterSidecar"]["statsSecretName"]: {"connection"},
        v["createUserJob"]["extraVolumes"][0]["projected"]["sources"][-1]["secret"]["name"]: {"password"},
    }
    assert len(expected_keys) == 8  # eight distinct Secrets
    release_deps = set(airflow_release(plan).dependencies)
    namespace = plan.one(NAMESPACE, f"airflow-{stack}-namespace").urn
    for name in expected_keys:
        s = secret_named(plan, name)
        assert s.inputs["metadata"]["namespace"] == "airflow"
        assert namespace in s.dependencies  # never created before the namespace exists
        assert s.inputs["type"] == "Opaque"
        assert s.inputs["stringData"] == SECRET  # a Pulumi secret, end to end
        assert s.urn in release_deps, name
    assert len(airflow_secrets(plan)) == 8


@pytest.fixture(scope="module")
def written() -> dict[str, tuple[Plan, dict[str, dict[str, str]]]]:
    return {stack: recorded_once(stack) for stack in ("dev", "prod")}


def airflow_secrets(plan: Plan) -> list[Registration]:
    """The Secrets in Airflow's namespace (the roles Job's is in its own)."""
    return [s for s in plan.of_type(SECRET_TYPE) if s.inputs["metadata"]["namespace"] == "airflow"]


def ini_settings(ini: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in ini.splitlines() if " = " in line)


def test_secrets_hold_what_the_chart_reads(written: dict[str, tuple[Plan, dict[str, dict[str, str]]]]) -> None:
    plan, seen = written["dev"]
    assert {name: sorted(data) for name, data in seen.items()} == {
        SECRET_NAMES.metadata: ["connection"],
        SECRET_NAMES.fernet_key: ["fernet-key"],
        SECRET_NAMES.api_secret_key: ["api-secret-key"],
        SECRET_NAMES.jwt_signing_key: ["private-key.pem"],
        SECRET_NAMES.webserver_secret_key: ["webserver-secret-key"],
        SECRET_NAMES.pgbouncer_config: ["pgbouncer.ini", "users.txt"],
        SECRET_NAMES.pgbouncer_stats: ["connection"],
        str(SECRET_NAMES.admin_password): ["password"],
        "airflow-db-roles": ["app-password"],  # the roles Job's, in its namespace (test_database_roles.py)
    }
    stack = plan.stack
    # The private key (PKCS#8, which Airflow loads), from pulumi-tls's secret output.
    pem = seen[SECRET_NAMES.jwt_signing_key]["private-key.pem"]
    body = fake_secret(f"airflow-{stack}-jwt-signing-key")
    assert pem == f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    assert seen[str(SECRET_NAMES.admin_password)]["password"] == plan.outputs["airflow_admin_password"]
    # Airflow reaches the database through PgBouncer, which holds the real address and password.
    client = parse_database_uri(seen[SECRET_NAMES.metadata]["connection"])
    assert (client.host, client.port, client.dbname) == ("airflow-pgbouncer.airflow", 6543, "airflow-metadata")
    # As Airflow's own login role (components/database_roles.py), with the password its Job sets.
    assert client.username == "airflow_app_g0"
    assert client.password == fake_secret(f"airflow-{stack}-db-app-password")
    database = client
    ini = seen[SECRET_NAMES.pgbouncer_config]["pgbouncer.ini"]
    out = plan.outputs
    target = f"host={out['db_address']} port={out['db_port']} dbname={out['db_name']}"
    assert ini_settings(ini)["airflow-metadata"].startswith(f"{target} pool_size=")
    # The created RDS instance's certificate is verified against the shipped bundle (issue 13).
    assert ini_settings(ini)["server_tls_sslmode"] == "verify-full"
    assert ini_settings(ini)["server_tls_ca_file"] == "/etc/pgbouncer-rds-ca/rds-ca-bundle.pem"
    assert ini_settings(ini)["max_prepared_statements"] == "200"  # asyncpg through transaction pooling
    assert database.password in seen[SECRET_NAMES.pgbouncer_config]["users.txt"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pgbouncer_pools_fit_the_database(
    written: dict[str, tuple[Plan, dict[str, dict[str, str]]]], stack: str
) -> None:
    plan, seen = written[stack]
    replicas = values(plan)["pgbouncer"]["replicas"]
    ini = ini_settings(seen[SECRET_NAMES.pgbouncer_config]["pgbouncer.ini"])
    metadata = int(ini["airflow-metadata"].rsplit("pool_size=", 1)[1])
    result_backend = int(ini["airflow-result-backend"].rsplit("pool_size=", 1)[1])
    budget = max_connections(plan.one("aws:rds/instance:Instance").inputs["instanceClass"]) * 0.8
    assert budget - 2 * replicas < replicas * (metadata + result_backend) <= budget
    assert metadata > result_backend >= 1
    assert int(ini["max_client_conn"]) >= metadata


def test_pools_fit_the_running_class_while_a_larger_one_waits_for_the_window() -> None:
    """dbInstanceClass changes apply in the maintenance window; until then RDS reports the running
    class, and pools sized for the configured (larger) one would oversubscribe it."""
    plan, seen = run_recording_secrets("prod", running_class="db.t4g.medium")
    assert plan.one("aws:rds/instance:Instance").inputs["instanceClass"] == "db.m7g.large"
    ini = ini_settings(seen[SECRET_NAMES.pgbouncer_config]["pgbouncer.ini"])
    expected = pgbouncer_pools(max_connections("db.t4g.medium"), 2)
    assert ini["airflow-metadata"].endswith(f"pool_size={expected.metadata_pool_size}")
    assert max_connections("db.t4g.medium") < max_connections("db.m7g.large")


def test_replicas_exactly_as_configured_in_dev_and_two_or_more_in_prod(dev: Plan, prod: Plan) -> None:
    sections = {
        "scheduler": "scheduler_replicas",
        "apiServer": "api_server_replicas",
        "triggerer": "triggerer_replicas",
        "dagProcessor": "dag_processor_replicas",
        "pgbouncer": "pgbouncer_replicas",
    }
    for plan in (dev, prod):
        configured = settings_of(plan.stack).airflow
        for section, field in sections.items():
            assert values(plan)[section]["replicas"] == getattr(configured, field), (plan.stack, section)
    assert all(values(prod)[s]["replicas"] >= 2 for s in sections)
    assert all(values(dev)[s]["replicas"] == 1 for s in sections)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_budgets_spread_and_placement(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    v = values(plan)
    for section in CONTROL_PLANE:  # chart 1.22 has a budget for each (the program made two before)
        assert v[section]["podDisruptionBudget"] == {"enabled": True, "config": {"maxUnavailable": 1}}
    assert not [r for r in plan.resources if "PodDisruptionBudget" in r.type]
    airflow_labels = labels_of_group(plan, "airflow")
    for section in (*CONTROL_PLANE, "statsd", *JOBS):
        selector = v[section]["nodeSelector"]
        assert selector and selector.items() <= airflow_labels.items(), section  # the airflow group's nodes
    for section in CONTROL_PLANE:
        keys = [c["topologyKey"] for c in v[section]["topologySpreadConstraints"]]
        assert sorted(keys) == sorted([ZONE_KEY, HOST_KEY]), section
    workers = plan.one(MNG, f"airflow-{stack}-workers").inputs
    task_pods = v["workers"]["kubernetes"]  # chart 1.22's keys for the KubernetesExecutor's pods
    assert task_pods["nodeSelector"].items() <= workers["labels"].items()
    assert not task_pods["nodeSelector"].items() <= airflow_labels.items()
    effects = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
    taints = {(t["key"], t["value"], effects[t["effect"]]) for t in workers["taints"]}
    tolerated = {(t["key"], t["value"], t["effect"]) for t in task_pods["tolerations"] if t["operator"] == "Equal"}
    assert taints and taints <= tolerated


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_jobs_volumes_and_resources(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    v = values(plan)
    for job in JOBS:
        assert v[job]["useHelmHooks"] is False and v[job]["applyCustomEnv"] is False
    claims = {c.inputs["metadata"]["name"] for c in plan.of_type(PVC)}
    assert v["dags"]["persistence"] == {"enabled": True, "existingClaim": plan.outputs["efs_dags_claim_name"]}
    assert v["logs"]["persistence"] == {"enabled": True, "existingClaim": plan.outputs["efs_logs_claim_name"]}
    assert {v["dags"]["persistence"]["existingClaim"], v["logs"]["persistence"]["existingClaim"]} == claims
    sections = {s: v[s] for s in (*CONTROL_PLANE, "statsd", *JOBS)}
    for section, values_ in {**sections, "workers.kubernetes": v["workers"]["kubernetes"]}.items():
        r = values_["resources"]
        assert r["requests"]["cpu"] and r["requests"]["memory"] and r["limits"]["memory"], section


# --------------------------------------------------------------------------- keys and secrecy


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_keys_are_generated_once_and_never_regenerated(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    (fernet,) = plan.of_type(RANDOM_BYTES)
    assert fernet.inputs["length"] == FERNET_KEY_BYTES == 32
    ours = [p for p in plan.of_type(RANDOM_PASSWORD) if p.parent == plan.one("airflow:index:Airflow").urn]
    assert sorted(p.name for p in ours) == sorted(
        f"airflow-{stack}-{k}"
        for k in ("api-secret-key", "webserver-secret-key", "admin-password", "pgbouncer-checksum-key")
    )
    for random in (fernet, *ours):
        assert "keepers" not in random.inputs, random.name  # nothing that changes can replace a key
        assert random.inputs["length"] >= 32
    # The JWT signing key: one RSA 2048 key pair (RS256), generated once, child of the component.
    (signing,) = plan.of_type(PRIVATE_KEY)
    assert signing.name == f"airflow-{stack}-jwt-signing-key"
    assert signing.parent == plan.one("airflow:index:Airflow").urn
    assert signing.inputs == {"algorithm": "RSA", "rsaBits": 2048.0}
    assert fernet_key("ab+/cd==") == "ab-_cd=="  # url-safe alphabet, padding kept
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=", fernet_key("A" * 40 + "+/A="))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_value_in_plain_text(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    text = json.dumps(plan.as_json())
    randoms = [r for r in plan.resources if r.type.startswith(("random:", PRIVATE_KEY))]
    assert len(randoms) >= 6
    for random in randoms:
        assert fake_secret(random.name) not in text, random.name
    assert "airflow_admin_password" in plan.secret_outputs
    # The output is the generated password itself (the plan keeps resolved values aside).
    assert plan.outputs["airflow_admin_password"] == fake_secret(f"airflow-{stack}-admin-password")


def test_no_admin_user_no_password(no_admin: Plan) -> None:
    v = values(no_admin)
    assert v["createUserJob"]["enabled"] is False and "webserver" not in v
    assert "args" not in v["createUserJob"]
    (volume,) = v["createUserJob"]["extraVolumes"]  # Airflow's secrets, no admin password among them
    assert [src["secret"]["items"][0]["path"] for src in volume["projected"]["sources"]] == list(CONFIG_FILES.values())
    # Still exported (a stable contract), empty, and still a secret.
    assert no_admin.outputs["airflow_admin_password"] == ""
    assert "airflow_admin_password" in no_admin.secret_outputs
    assert not [r for r in no_admin.of_type(RANDOM_PASSWORD) if r.name.endswith("admin-password")]
    assert len(airflow_secrets(no_admin)) == 7


def test_user_values_win(overridden: Plan, dev: Plan) -> None:
    v = values(overridden)
    limits, dev_limits = v["scheduler"]["resources"]["limits"], values(dev)["scheduler"]["resources"]["limits"]
    assert limits == {**dev_limits, "cpu": "3"} != dev_limits
    assert "load_examples" not in v["config"]["core"]  # null removes a computed value, as Helm does
    assert v["scheduler"]["replicas"] == values(dev)["scheduler"]["replicas"]


# --------------------------------------------------------------------------- dependencies


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_release_waits_for_exactly_what_it_needs(plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    release = airflow_release(plan)
    deps = set(release.dependencies)
    (lb_controller,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"]
    expected = {
        *(s.urn for s in airflow_secrets(plan)),
        plan.one(NAMESPACE, f"airflow-{stack}-namespace").urn,
        # Airflow's database role is in step before the chart's migration Job runs as it.
        plan.one("kubernetes:batch/v1:Job").urn,
        *(c.urn for c in plan.of_type(PVC)),
        plan.one(CSI, f"airflow-{stack}-efs-csi").urn,
        *(g.urn for g in plan.of_type(MNG)),
        lb_controller.urn,
        # The task pods' service account carries the role (its ARN is in the values).
        plan.one("aws:iam/role:Role", f"airflow-{stack}-airflow-worker-role").urn,
        # PgBouncer's pods mount the RDS CA bundle; their checksum annotation is keyed with a
        # generated key over files built from the instance's address and password (issue 13).
        plan.one("kubernetes:core/v1:ConfigMap", f"airflow-{stack}-pgbouncer-rds-ca").urn,
        plan.one(RANDOM_PASSWORD, f"airflow-{stack}-pgbouncer-checksum-key").urn,
        plan.one("aws:rds/instance:Instance").urn,
        plan.one(RANDOM_PASSWORD, f"airflow-{stack}-db-app-password").urn,
        # The control plane's checksum annotation is keyed over the generated keys (issue 21).
        plan.one("random:index/randomBytes:RandomBytes", f"airflow-{stack}-fernet-key").urn,
        *(plan.one(RANDOM_PASSWORD, f"airflow-{stack}-{key}").urn for key in ROLLED_KEYS),
        plan.one(PRIVATE_KEY, f"airflow-{stack}-jwt-signing-key").urn,
    }
    if plan.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule"):  # images through the cache (prod)
        expected |= {r.urn for r in plan.resources if "airflow:index:ImageCache$" in r.urn}
    if plan.outputs["task_logs_bucket_name"]:  # the values name the logs bucket and role
        expected |= {
            plan.one("aws:s3/bucket:Bucket").urn,
            plan.one("aws:iam/role:Role", f"airflow-{stack}-task-logs-role").urn,
        }
    assert deps == expected
    assert len(plan.of_type(MNG)) == 3 and len(plan.of_type(PVC)) == 2
    waits_for = plan.waits_for(release.urn)
    for unrelated in (
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:lb/listener:Listener",
        "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
    ):
        assert plan.one(unrelated).urn not in waits_for, unrelated
    (autoscaler,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    assert autoscaler.urn not in deps


# --------------------------------------------------------------------------- dev and prod


def test_dev_is_smaller_than_prod_in_every_configured_dimension(dev: Plan, prod: Plan) -> None:
    def airflow_types(plan: Plan) -> set[str]:
        return {r.type for r in plan.resources if r.type.startswith("airflow:index:")}

    # Dev switches off cluster metrics and keeps no S3 logs (its stack file says why), and its five
    # task nodes pull without the pull-through cache (a handful: lib/images.py ANONYMOUS_PULL_NODES):
    # the same components otherwise, and nothing of a type prod lacks but its NAT instance (one
    # t4g.nano instead of a NAT gateway, which production refuses).
    switched_off = {"airflow:index:ClusterTelemetry", "airflow:index:LogArchive", "airflow:index:ImageCache"}
    nat_instance = {"airflow:index:NatInstance"}
    assert airflow_types(dev) == airflow_types(prod) - switched_off | nat_instance
    assert {"airflow:index:Airflow", "airflow:index:LoadBalancer", "airflow:index:ClusterAddon"} <= airflow_types(dev)
    dev_only = {r.type for r in dev.resources} - {r.type for r in prod.resources}
    assert dev_only == {"airflow:index:NatInstance", "aws:ec2/instance:Instance"}
    assert {r.type for r in dev.resources} - dev_only < {r.type for r in prod.resources}

    dv, pv = values(dev), values(prod)
    for section in ("scheduler", "apiServer", "triggerer", "dagProcessor", "pgbouncer"):
        assert dv[section]["replicas"] < pv[section]["replicas"], section
    for section in (*CONTROL_PLANE, "statsd", *JOBS, "workers"):
        d, p = ((v["workers"]["kubernetes"] if section == "workers" else v[section]) for v in (dv, pv))
        d, p = d["resources"]["requests"], p["resources"]["requests"]
        assert cpu(d["cpu"]) < cpu(p["cpu"]) and memory(d["memory"]) < memory(p["memory"]), section

    for group in ("system", "airflow", "workers"):
        d, p = (plan.one(MNG, f"airflow-{plan.stack}-{group}").inputs["scalingConfig"] for plan in (dev, prod))
        for size in ("minSize", "desiredSize", "maxSize"):
            if group == "workers" and size != "maxSize":  # task nodes scale from zero in both
                assert d[size] == p[size] == 0
                continue
            assert d[size] < p[size], (group, size)
    assert sum(len(plan.of_type(MNG)) for plan in (dev, prod)) == 6
    nat = "aws:ec2/natGateway:NatGateway"
    assert len(dev.of_type(nat)) < len(prod.of_type(nat)) == 3

    d_db, p_db = dev.one("aws:rds/instance:Instance").inputs, prod.one("aws:rds/instance:Instance").inputs
    assert instance_memory_gib(d_db["instanceClass"]) < instance_memory_gib(p_db["instanceClass"])
    assert d_db["multiAz"] is False and p_db["multiAz"] is True
