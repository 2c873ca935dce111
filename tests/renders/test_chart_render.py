"""The official Airflow chart, rendered by Helm with the values each plan hands the release.

What Helm produces from our values is what runs: these tests assert on the rendered objects
(offline/chart.py finds Helm and the chart), and validate every one of them, and every object the
program adds beside them, against the cluster version's schema.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from lib.airflow.git_sync import HTTPS_SECRET_KEYS, SSH_SECRET_KEYS
from lib.airflow.pod_cleanup import SCHEDULE, SCRIPT, TASK_POD_SELECTOR
from lib.airflow.secrets import SECRET_NAMES
from lib.airflow.signing import JWT_SECRET_ENV, KEY_DIRECTORY, PRIVATE_KEY_FILE, PRIVATE_KEY_PATH_ENV
from lib.airflow.values import API_SERVER_HEALTH_PATH, IRSA_ROLE_ANNOTATION, MIGRATIONS_WAIT_SECONDS
from offline.chart import chart_dir, helm_binary, render
from offline.mocks import Plan
from tests.support.plans import plan_once
from tests.support.renders import Rendered, containers

MNG = "eks:index:ManagedNodeGroup"
GIT_HTTPS = {
    "gitSyncRepo": "https://github.com/example/dags.git",
    "gitSyncBranch": "release",
    "gitSyncSubPath": "pipelines/dags",
    "gitSyncCredentialsSecret": "git-credentials",
}
GIT_SSH = {"gitSyncRepo": "git@github.com:example/dags.git", "gitSyncCredentialsSecret": "git-ssh"}
DAG_READERS = ("airflow-dag-processor", "airflow-triggerer")
CONTROL_PLANE = (
    "airflow-scheduler",
    "airflow-api-server",
    "airflow-triggerer",
    "airflow-dag-processor",
    "airflow-pgbouncer",
    "airflow-statsd",
)
OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
DEFAULT_GRACE_SECONDS = 30  # a pod's terminationGracePeriodSeconds when the chart sets none


@pytest.fixture(scope="module")
def renders(dev: Plan, prod: Plan) -> dict[str, Rendered]:
    return {
        "dev": Rendered(dev),
        "prod": Rendered(prod),
        "git-https": Rendered(plan_once("dev", GIT_HTTPS)),
        "git-ssh": Rendered(plan_once("prod", GIT_SSH)),
    }


CONFIGS = ["dev", "prod", "git-https", "git-ssh"]


def pods(r: Rendered) -> dict[str, dict[str, Any]]:
    """Every pod the chart defines: Deployments, Jobs and the task pod template."""
    found = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"] for o in r.objects if o["kind"] in ("Deployment", "Job")
    }
    found["task-pod"] = r.pod_template()["spec"]
    return found


def claim_mount(pod: dict[str, Any], claim: str) -> str | None:
    """Where `pod`'s main container mounts the PersistentVolumeClaim `claim`, if it does."""
    volumes = {
        v["name"] for v in pod.get("volumes", []) if v.get("persistentVolumeClaim", {}).get("claimName") == claim
    }
    mounts = [m["mountPath"] for m in pod["containers"][0].get("volumeMounts", []) if m["name"] in volumes]
    assert len(mounts) <= 1
    return mounts[0] if mounts else None


# --------------------------------------------------------------------------- the tools


def test_helm_and_the_chart_are_the_pinned_ones(renders: dict[str, Rendered]) -> None:
    assert helm_binary().is_file()
    version = renders["prod"].release.inputs["version"]
    meta = yaml.safe_load((chart_dir(version) / "Chart.yaml").read_text())
    assert (meta["name"], meta["version"], meta["appVersion"]) == ("airflow", "1.22.0", "3.2.2")


# --------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("config", CONFIGS)
def test_every_rendered_object_is_valid_for_the_cluster_version(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    # With the CloudWatch agent receiving StatsD, the chart's statsd exporter is not rendered.
    agent = bool(r.plan.outputs["cloudwatch_metrics_namespace"])
    expected = sorted(n for n in CONTROL_PLANE if not (agent and n == "airflow-statsd"))
    kinds = sorted(o["kind"] for o in r.objects)
    assert kinds.count("Job") == 2 and kinds.count("PodDisruptionBudget") == 5  # one per control-plane Deployment
    for o in r.objects:
        assert kubernetes_validate.validate(o, r.kube_version, strict=True) == r.kube_version, o["metadata"]["name"]
    assert sorted(o["metadata"]["name"] for o in r.objects if o["kind"] == "Deployment") == expected


def without_nulls(value: Any) -> Any:
    """`value` without null fields, as the API server reads them (null is absent)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("config", CONFIGS)
def test_the_task_pod_template_is_a_valid_pod(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    template = r.pod_template()
    assert template["kind"] == "Pod"
    assert kubernetes_validate.validate(without_nulls(template), r.kube_version, strict=True) == r.kube_version


@pytest.mark.parametrize("config", ["git-https", "git-ssh"])
def test_the_git_sync_deployment_is_valid(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    (deployment,) = r.program_objects("kubernetes:apps/v1:Deployment")
    assert kubernetes_validate.validate(deployment.inputs, r.kube_version, strict=True) == r.kube_version


# --------------------------------------------------------------------------- what the pods need exists


@pytest.mark.parametrize("config", CONFIGS)
def test_every_secret_configmap_claim_and_account_a_pod_names_exists(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    exists: dict[str, set[str]] = {
        kind: set() for kind in ("Secret", "ConfigMap", "PersistentVolumeClaim", "ServiceAccount")
    }
    for o in r.objects:
        if o["kind"] in exists:
            exists[o["kind"]].add(o["metadata"]["name"])
    for type_, kind in (
        ("kubernetes:core/v1:Secret", "Secret"),
        ("kubernetes:core/v1:ConfigMap", "ConfigMap"),
        ("kubernetes:core/v1:PersistentVolumeClaim", "PersistentVolumeClaim"),
    ):
        exists[kind] |= {reg.inputs["metadata"]["name"] for reg in r.program_objects(type_)}
    exists["ConfigMap"].add("kube-root-ca.crt")  # in every namespace: kube-controller-manager's root CA publisher
    checked = 0
    for pod_name, pod in pods(r).items():
        needed: list[tuple[str, str]] = [("ServiceAccount", pod.get("serviceAccountName", "default"))]
        for v in pod.get("volumes", []):
            if "secret" in v:
                needed.append(("Secret", v["secret"]["secretName"]))
            if "configMap" in v:
                needed.append(("ConfigMap", v["configMap"]["name"]))
            if "persistentVolumeClaim" in v:
                needed.append(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]))
            for source in (v.get("projected") or {}).get("sources", []):  # Airflow's secrets: secret_files.py
                if "secret" in source and not source["secret"].get("optional"):
                    needed.append(("Secret", source["secret"]["name"]))
                if "configMap" in source and not source["configMap"].get("optional"):
                    needed.append(("ConfigMap", source["configMap"]["name"]))
        for c in containers(pod):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref and not ref["secretKeyRef"].get("optional"):
                    needed.append(("Secret", ref["secretKeyRef"]["name"]))
                if "configMapKeyRef" in ref and not ref["configMapKeyRef"].get("optional"):
                    needed.append(("ConfigMap", ref["configMapKeyRef"]["name"]))
        for kind, name in needed:
            if pod_name == "task-pod" and kind == "ServiceAccount":
                continue  # the executor sets the task pod's account when it launches it
            assert name in exists[kind], f"{pod_name} needs {kind} {name}"
            checked += 1
    assert checked > 40  # never vacuous


# --------------------------------------------------------------------------- DAGs


@pytest.mark.parametrize("config", CONFIGS)
def test_dags_are_read_from_the_dags_claim_by_every_pod_that_parses_or_runs_them(
    renders: dict[str, Rendered], config: str
) -> None:
    r = renders[config]
    claim = r.plan.outputs["efs_dags_claim_name"]
    dags_folder = r.airflow_cfg()["core.dags_folder"]
    for name in DAG_READERS:
        mount = claim_mount(r.deployment_pod(name), claim)
        assert mount and (dags_folder + "/").startswith(mount + "/"), (name, mount, dags_folder)
    task_mount = claim_mount(r.pod_template()["spec"], claim)
    assert task_mount and (dags_folder + "/").startswith(task_mount + "/")
    # Airflow 3's scheduler reads serialized DAGs from the database: it has no DAGs volume, so
    # copying files into a scheduler pod writes to its own disk (docs/operations.md copies
    # into the DAG processor instead).
    assert claim_mount(r.deployment_pod("airflow-scheduler"), claim) is None
    # The chart's git-sync is never what delivers DAGs here (see the next test).
    for pod in pods(r).values():
        assert not [c["name"] for c in containers(pod) if "git-sync" in c["name"]]


def test_the_docs_copy_dags_into_a_pod_that_mounts_the_dags_volume(renders: dict[str, Rendered]) -> None:
    """The copy procedure must write to the shared volume, where Airflow reads, not to a pod's disk."""
    section = OPERATIONS.split("\n## Delivering DAGs\n", 1)[1].split("\n## ", 1)[0]
    component = re.search(r"-l component=([\w-]+)", section)
    copy = re.search(r'kubectl -n airflow cp \S+ "\$POD":(\S+) -c ([\w-]+)', section)
    assert component and copy, "docs/operations.md gives no copy procedure"
    path, container = copy.groups()
    r = renders["dev"]
    (deployment,) = [
        o
        for o in r.objects
        if o["kind"] == "Deployment" and o["spec"]["template"]["metadata"]["labels"].get("component") == component[1]
    ]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["name"] == container
    mount = claim_mount(pod, r.plan.outputs["efs_dags_claim_name"])
    assert mount == path.rstrip("/") == r.airflow_cfg()["core.dags_folder"]


def test_the_charts_git_sync_with_a_persistent_dags_volume_is_one_writer_per_dag_processor(
    renders: dict[str, Rendered],
) -> None:
    """Why the program runs its own git-sync: chart 1.22 with `dags.persistence` and its own
    git-sync on adds a git-sync sidecar to each DAG processor replica, every one writing into the
    same shared DAGs claim (2 or more writers on one repository), and none anywhere else."""
    r = renders["git-ssh"]  # prod: 2 DAG processors
    values = {**r.release.inputs["values"]}
    values["dags"] = {**values["dags"], "gitSync": {"enabled": True, "repo": GIT_HTTPS["gitSyncRepo"]}}
    i = r.release.inputs
    objects = render(values, version=i["version"], release=i["name"], namespace=i["namespace"], kube_version="1.33")
    syncing = {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
        and [c for c in containers(o["spec"]["template"]["spec"]) if "git-sync" in c["name"]]
    }
    assert list(syncing) == ["airflow-dag-processor"]
    processor = syncing["airflow-dag-processor"]
    pod = processor["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"] if "git-sync" in c["name"]] == ["git-sync"]
    assert processor["spec"]["replicas"] >= 2
    dags = {v["name"]: v for v in pod["volumes"]}["dags"]
    assert dags["persistentVolumeClaim"]["claimName"] == r.plan.outputs["efs_dags_claim_name"]


@pytest.mark.parametrize("config", ["git-https", "git-ssh"])
def test_git_sync_writes_where_the_dag_processor_and_task_pods_read(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    claim = r.plan.outputs["efs_dags_claim_name"]
    (deployment,) = r.program_objects("kubernetes:apps/v1:Deployment")
    spec = deployment.inputs["spec"]
    assert deployment.inputs["metadata"]["namespace"] == r.plan.outputs["airflow_namespace"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}  # a single writer
    pod = spec["template"]["spec"]
    writer_mount = claim_mount(pod, claim)
    assert writer_mount
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    link, root = env["GITSYNC_LINK"], env["GITSYNC_ROOT"]
    # git-sync empties a root that is not a repository: never the volume's top.
    assert root.startswith(writer_mount + "/") and root != writer_mount
    # The link is relative to its folder (git-sync v4 publishSymlink): the same path under the
    # volume resolves wherever the volume is mounted.
    assert link.startswith(writer_mount + "/")
    in_volume = link.removeprefix(writer_mount + "/")
    sub_path = {"git-https": GIT_HTTPS["gitSyncSubPath"], "git-ssh": "dags"}[config]
    reader_mount = claim_mount(r.deployment_pod("airflow-dag-processor"), claim)
    assert r.airflow_cfg()["core.dags_folder"] == f"{reader_mount}/{in_volume}/{sub_path}"
    assert env["GITSYNC_REPO"] == {"git-https": GIT_HTTPS, "git-ssh": GIT_SSH}[config]["gitSyncRepo"]
    # It runs where the control plane runs, and its readiness means a first sync succeeded.
    airflow_group = r.plan.one(MNG, f"airflow-{r.plan.stack}-airflow").inputs["labels"]
    assert pod["nodeSelector"].items() <= airflow_group.items()
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/"
    assert deployment.dependencies  # after the namespace, the claim and the CSI driver
    claims = {c.urn for c in r.plan.of_type("kubernetes:core/v1:PersistentVolumeClaim")}
    assert claims <= set(deployment.dependencies)


def test_git_credentials_reach_git_sync_from_the_named_secret(renders: dict[str, Rendered]) -> None:
    https = renders["git-https"].program_objects("kubernetes:apps/v1:Deployment")[0].inputs["spec"]["template"]["spec"]
    env = {e["name"]: e for e in https["containers"][0]["env"]}
    for key in HTTPS_SECRET_KEYS:
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": GIT_HTTPS["gitSyncCredentialsSecret"], "key": key}
    ssh = renders["git-ssh"].program_objects("kubernetes:apps/v1:Deployment")[0].inputs["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in ssh["containers"][0]["env"]}
    assert env["GITSYNC_SSH_KNOWN_HOSTS"] == "true"  # host keys are checked
    (volume,) = [v for v in ssh["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == GIT_SSH["gitSyncCredentialsSecret"]
    assert [i["key"] for i in volume["secret"]["items"]] == list(SSH_SECRET_KEYS)


# --------------------------------------------------------------------------- placement


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_task_pods_run_on_the_tainted_workers_and_the_rest_on_the_airflow_group(
    renders: dict[str, Rendered], config: str
) -> None:
    r = renders[config]
    groups = {name: r.plan.one(MNG, f"airflow-{config}-{name}").inputs for name in ("airflow", "workers")}
    task = r.pod_template()["spec"]
    assert task["nodeSelector"].items() <= groups["workers"]["labels"].items()
    effects = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute"}
    taints = {(t["key"], t["value"], effects[t["effect"]]) for t in groups["workers"]["taints"]}
    assert taints and taints <= {(t["key"], t.get("value"), t["effect"]) for t in task["tolerations"]}
    # Its size from `workers.kubernetes.resources` (chart 1.22), the task pod profile's requests and limits.
    (base,) = [c for c in task["containers"] if c["name"] == "base"]
    expected = r.release.inputs["values"]["workers"]["kubernetes"]["resources"]
    assert base["resources"] == expected and expected["requests"]["cpu"] and expected["limits"]["memory"]
    for name, pod in pods(r).items():
        if name == "task-pod":
            continue
        assert pod["nodeSelector"].items() <= groups["airflow"]["labels"].items(), name
        tolerated = {(t.get("key"), t.get("value"), t.get("effect")) for t in pod.get("tolerations", [])}
        assert not taints & tolerated, name  # control-plane pods never take the workers' nodes


# --------------------------------------------------------------------------- the UI behind the NLB


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_the_binding_targets_the_rendered_api_server(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    binding = r.plan.one("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding").inputs
    service = r.one("Service", binding["spec"]["serviceRef"]["name"])
    assert binding["metadata"]["namespace"] == r.release.inputs["namespace"]
    assert binding["spec"]["serviceRef"]["port"] in [p["port"] for p in service["spec"]["ports"]]
    deployment = r.one("Deployment", "airflow-api-server")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    target_group = r.plan.one("aws:lb/targetGroup:TargetGroup").inputs
    ports = [p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]]
    assert target_group["port"] in ports  # ip targets: the NLB reaches the container port itself


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_api_server_rollouts_drain_through_the_nlb(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    deployment = r.one("Deployment", "airflow-api-server")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == 8080, probe
    (sleep, seconds) = container["lifecycle"]["preStop"]["exec"]["command"]
    delay = r.plan.one("aws:lb/targetGroup:TargetGroup").inputs["deregistrationDelay"]
    grace = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    # Serving until the NLB has stopped sending new connections and drained the old ones, and
    # stopping before the kubelet kills the pod.
    assert sleep == "sleep" and delay < int(seconds) < grace
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_control_plane_budgets_and_spread(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    budgets = {o["metadata"]["name"]: o["spec"] for o in r.objects if o["kind"] == "PodDisruptionBudget"}
    # Chart 1.22 has the triggerer's and the DAG processor's too (1.19: #59068, #60294), under the
    # names the program gave its own before (UPGRADING.md: the objects move from the program to Helm).
    assert {name: spec["maxUnavailable"] for name, spec in budgets.items()} == {
        "airflow-scheduler-pdb": 1,
        "airflow-api-server-pdb": 1,
        "airflow-pgbouncer-pdb": 1,
        "airflow-triggerer-pdb": 1,
        "airflow-dag-processor-pdb": 1,
    }
    for name, spec in budgets.items():
        component = name.removeprefix("airflow-").removesuffix("-pdb")
        assert spec["selector"] == {"matchLabels": {"tier": "airflow", "component": component, "release": "airflow"}}
        pod = r.one("Deployment", f"airflow-{component}")["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= pod.items(), name
    for name in ("airflow-scheduler", "airflow-api-server", "airflow-triggerer", "airflow-dag-processor"):
        spread = r.deployment_pod(name)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, name


# --------------------------------------------------------------------------- migrations and jobs


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_helm_never_waits_on_a_job_that_deletes_itself(renders: dict[str, Rendered], config: str) -> None:
    """The Jobs delete themselves after the TTL; Helm's wait would re-read them until every
    Deployment is ready and fail on the 404. So the release waits for Deployments only, and the
    Deployments wait for migrations themselves."""
    r = renders[config]
    jobs = {o["metadata"]["name"]: o for o in r.objects if o["kind"] == "Job"}
    assert set(jobs) == {"airflow-run-airflow-migrations", "airflow-create-user"}
    assert all(job["spec"]["ttlSecondsAfterFinished"] == 300 for job in jobs.values())
    assert all("helm.sh/hook" not in job["metadata"].get("annotations", {}) for job in jobs.values())
    assert r.release.inputs["waitForJobs"] is False and r.release.inputs["skipAwait"] is False
    wait = ["airflow", "db", "check-migrations", f"--migration-wait-timeout={MIGRATIONS_WAIT_SECONDS}"]
    for name in ("airflow-scheduler", "airflow-api-server", "airflow-triggerer", "airflow-dag-processor"):
        init = {c["name"]: c for c in r.deployment_pod(name).get("initContainers", [])}
        assert init["wait-for-airflow-migrations"]["args"] == wait, name
    # The create-user Job has no such init container in chart 1.22: its command waits first.
    (create_user,) = jobs["airflow-create-user"]["spec"]["template"]["spec"]["containers"]
    assert "initContainers" not in jobs["airflow-create-user"]["spec"]["template"]["spec"]
    script = create_user["args"][2]
    assert shlex.split(script)[:4] == wait
    assert script.index("check-migrations") < script.index("users create")


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_pgbouncer_runs_the_program_written_configuration(renders: dict[str, Rendered], config: str) -> None:
    r = renders[config]
    secret_name = r.release.inputs["values"]["pgbouncer"]["configSecretName"]
    volumes = r.deployment_pod("airflow-pgbouncer")["volumes"]
    assert [v["secret"]["secretName"] for v in volumes if "secret" in v] == [secret_name]
    # The chart renders no pgbouncer.ini of its own (it would hold the database password).
    assert not [o for o in r.objects if o["kind"] == "Secret" and "pgbouncer-config" in o["metadata"]["name"]]
    assert secret_name in {s.inputs["metadata"]["name"] for s in r.plan.of_type("kubernetes:core/v1:Secret")}


@pytest.mark.parametrize("config", CONFIGS)
def test_task_pods_and_only_they_run_as_the_account_with_the_worker_role(
    renders: dict[str, Rendered], config: str
) -> None:
    r = renders[config]
    role_arn = r.plan.outputs["airflow_worker_role_arn"]
    account = r.plan.outputs["airflow_worker_service_account"]
    assert r.pod_template()["spec"]["serviceAccountName"] == account
    # Chart 1.22's `workers.kubernetes.serviceAccount` (templates/workers/worker-kubernetes-serviceaccount.yaml),
    # under the name the role trusts; neither the chart's default name nor the Celery account.
    service_account = r.one("ServiceAccount", account)
    assert service_account["metadata"]["annotations"] == {IRSA_ROLE_ANNOTATION: role_arn}
    assert service_account["automountServiceAccountToken"] is False
    assert service_account["metadata"]["labels"]["component"] == "worker"
    accounts = [o["metadata"]["name"] for o in r.objects if o["kind"] == "ServiceAccount"]
    assert [a for a in accounts if "worker" in a] == [account] == ["airflow-worker"]
    # The role trusts exactly that account in the release's namespace.
    role = r.plan.one("aws:iam/role:Role", f"{r.plan.outputs['cluster_name']}-airflow-worker-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert f"system:serviceaccount:{r.release.inputs['namespace']}:{account}" in trust.values()
    # No other account carries it; with remote logs, the API server and the triggerer carry
    # the logs role, which nothing else does (tests/plans/test_observability.py).
    annotated = {
        o["metadata"]["name"]: o["metadata"]["annotations"][IRSA_ROLE_ANNOTATION]
        for o in r.objects
        if o["kind"] == "ServiceAccount" and IRSA_ROLE_ANNOTATION in (o["metadata"].get("annotations") or {})
    }
    logs_role = r.plan.outputs["task_logs_role_arn"]
    readers = {"airflow-api-server": logs_role, "airflow-triggerer": logs_role} if logs_role else {}
    assert annotated == {account: role_arn, **readers}
    others = {name: pod.get("serviceAccountName") for name, pod in pods(r).items() if name != "task-pod"}
    assert account not in others.values(), others


# --------------------------------------------------------------------------- chart 1.22's Airflow 3 fixes


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_api_server_probes_use_the_health_route_the_nlb_checks(renders: dict[str, Rendered], config: str) -> None:
    """Chart 1.22 probes `/api/v2/monitor/health` (unauthenticated in airflow-core 3.3.2:
    routes/public/__init__.py includes the monitor router outside the authenticated one)."""
    pod = renders[config].deployment_pod("airflow-api-server")
    (server,) = [c for c in pod["containers"] if c["name"] == "api-server"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert server[probe]["httpGet"] == {"path": API_SERVER_HEALTH_PATH, "port": 8080, "scheme": "HTTP"}, probe


def workload_pods(r: Rendered) -> dict[str, dict[str, Any]]:
    """Every pod spec of the render, whatever makes it: Deployments, StatefulSets, Jobs, CronJobs, the task pods."""
    found = {}
    for o in r.objects:
        if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            found[f"{o['kind']}/{o['metadata']['name']}"] = o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            found[f"CronJob/{o['metadata']['name']}"] = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    found["task-pod"] = r.pod_template()["spec"]
    return found


def secret_references(pod: dict[str, Any], secret: str) -> set[str]:
    """Where `pod` takes anything from the Secret `secret`: volumes, env and envFrom of every container."""
    refs = {f"volume:{v['name']}" for v in pod.get("volumes", []) if v.get("secret", {}).get("secretName") == secret}
    for c in containers(pod):
        refs |= {
            f"env:{c['name']}:{e['name']}"
            for e in c.get("env", [])
            if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == secret
        }
        refs |= {f"envFrom:{c['name']}" for e in c.get("envFrom", []) if e.get("secretRef", {}).get("name") == secret}
    return refs


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_only_the_token_minting_pods_hold_the_jwt_signing_key(renders: dict[str, Rendered], config: str) -> None:
    """Airflow 3.3.2 mints JWTs in the API server and the scheduler only, and validates them in the
    API server only (lib/airflow/signing.py): those two pods mount the private key, as one file, at
    the path `[api_auth] jwt_private_key_path` names there alone; no pod of the render has the shared
    `jwt_secret`, and the chart renders no JWT secret of its own."""
    r = renders[config]
    secret = SECRET_NAMES.jwt_signing_key
    assert r.release.inputs["values"]["jwtSecretName"] == secret  # so the chart makes no random one
    holders = {name: refs for name, pod in workload_pods(r).items() if (refs := secret_references(pod, secret))}
    assert holders == {
        "Deployment/airflow-api-server": {"volume:jwt-signing-key"},
        "Deployment/airflow-scheduler": {"volume:jwt-signing-key"},
    }
    path = f"{KEY_DIRECTORY}/{PRIVATE_KEY_FILE}"
    for name, pod in workload_pods(r).items():
        env = {e["name"]: e for c in containers(pod) for e in c.get("env", [])}
        assert JWT_SECRET_ENV not in env, name
        main = pod["containers"][0]
        mounts = [m for m in main.get("volumeMounts", []) if m["name"] == "jwt-signing-key"]
        if name in holders:
            (volume,) = [v for v in pod["volumes"] if v["name"] == "jwt-signing-key"]
            assert volume["secret"]["items"] == [{"key": PRIVATE_KEY_FILE, "path": PRIVATE_KEY_FILE}]
            assert volume["secret"]["defaultMode"] == 0o440
            assert main["name"] in ("api-server", "scheduler")
            assert mounts == [{"name": "jwt-signing-key", "mountPath": KEY_DIRECTORY, "readOnly": True}]
            assert {"name": PRIVATE_KEY_PATH_ENV, "value": path} in main["env"], name
        else:
            assert PRIVATE_KEY_PATH_ENV not in env and not mounts, name
    # Not in airflow.cfg either: the path names a file only those two pods have.
    cfg = r.airflow_cfg()
    assert "api_auth.jwt_private_key_path" not in cfg and "api_auth.jwt_secret" not in cfg
    assert not [o for o in r.objects if o["kind"] == "Secret" and "jwt" in o["metadata"]["name"]]


# --------------------------------------------------------------------------- failed task pods


@pytest.mark.parametrize("config", ["dev", "prod"])
def test_failed_task_pods_are_deleted_after_the_configured_retention(renders: dict[str, Rendered], config: str) -> None:
    """The chart's cleanup CronJob runs lib/airflow/pod_cleanup.py with the stack's retention, hourly,
    on the control-plane group, as the account the chart's pod-cleanup Role lets list and delete pods;
    the executor still keeps a failed pod (for its events) until then."""
    r = renders[config]
    cron = r.one("CronJob", "airflow-cleanup")
    assert cron["spec"]["schedule"] == SCHEDULE == "17 * * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "command" not in container  # the image's entrypoint runs `bash`
    assert container["args"] == [
        "bash",
        "-c",
        'exec python -c "$0" "$@"',
        SCRIPT.read_text(),
        r.release.inputs["namespace"],
        "24",
    ]
    group = r.plan.one(MNG, f"airflow-{config}-airflow").inputs
    assert pod["nodeSelector"].items() <= group["labels"].items()
    assert container["resources"]["limits"] and container["resources"]["requests"]
    # The chart's Role for it: the pods of the release's namespace, listed and deleted.
    (binding,) = [o for o in r.objects if o["kind"] == "RoleBinding" and o["roleRef"]["name"] == "airflow-cleanup-role"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": r.release.inputs["namespace"]}
    ]
    (rule,) = r.one("Role", "airflow-cleanup-role")["rules"]
    assert rule["resources"] == ["pods"] and {"list", "delete"} <= set(rule["verbs"])
    # The task pods carry the labels it selects.
    labels = r.pod_template()["metadata"]["labels"]
    assert dict(kv.split("=") for kv in TASK_POD_SELECTOR.split(",")).items() <= labels.items()
    cfg = r.airflow_cfg()
    assert (
        cfg["kubernetes_executor.delete_worker_pods"],
        cfg["kubernetes_executor.delete_worker_pods_on_failure"],
    ) == (
        "True",
        "False",
    )


def test_the_retention_is_the_configured_one() -> None:
    r = Rendered(plan_once("dev", {"airflowFailedPodRetentionHours": 72}))
    (container,) = r.one("CronJob", "airflow-cleanup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"][-2:] == [r.release.inputs["namespace"], "72"]
