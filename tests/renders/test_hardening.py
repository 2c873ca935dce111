"""Hardened pods and network isolation, on what Helm renders from the prod values.

- checkov (its own virtualenv, `.venv-checkov`, made by `make test`) over everything the cluster
  runs: the render, the task pod template, every Kubernetes object of the program and the add-on
  charts' Deployments (tests/support/addon_objects.py: built from the release values, as their
  pinned templates render them): at most MAX_FAILED, MAX_TASK_POD_FAILED and MAX_ADDON_FAILED
  failures, exactly those the "Hardened pods" table of docs/security.md lists.
- Pod Security Standards: a checker of the baseline and restricted levels over every pod (the
  chart's workloads, the task pod template, git-sync); the namespace enforces the strictest level
  they all pass and warns and audits at restricted.
The namespace's network policies are tests/renders/test_network_flows.py's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.airflow import NAMESPACE_LABELS
from lib.airflow.git_sync import GitSyncSource, git_sync_deployment
from lib.airflow.hardening import PSA_LEVEL, SERVICE_ACCOUNT_DIRECTORY, TOKEN_EXPIRATION_SECONDS
from lib.cluster.helm_addons import (
    ADDON_CONTAINER_SECURITY,
    ADDON_POD_SECURITY,
    CLUSTER_AUTOSCALER,
    LOAD_BALANCER_CONTROLLER,
)
from lib.cluster.node_groups import NodeGroup
from offline.mocks import Plan
from tests.support.addon_objects import cluster_autoscaler_deployment, load_balancer_controller_deployment
from tests.support.plans import plan_once
from tests.support.renders import Rendered, containers

ROOT = Path(__file__).resolve().parents[2]
SECURITY_DOCS = ROOT / "docs" / "security.md"
# issue 20: chart 1.22.0 renders 27; issue 25 adds the cleanup CronJob (3, those of the Jobs); issue 24
# the database roles Job (1: its image's digest) and takes the scheduler's token (-1); one log groomer
# instead of three (-2: CKV_K8S_8 of the triggerer and the DAG processor); Airflow's secrets as files
# (-7: CKV_K8S_35 of the four Deployments, the two Jobs and the cleanup CronJob)
MAX_FAILED = 21
TASK_POD = "airflow-task-pod"
MAX_TASK_POD_FAILED = 5  # issue 21: the task pod template, scanned as a Pod since (docs/security.md, "Hardened pods")
SKIPPED_CHECKS = ("CKV_K8S_21",)  # "the default namespace": `helm template` leaves objects without one
MAX_ADDON_FAILED = 7  # issue 24: the LB controller's and the autoscaler's pods (docs/security.md, "Hardened pods")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PGBOUNCER_PORT = 6543  # the chart's `ports.pgbouncer`
API_SERVER_PORT = 8080


@pytest.fixture(scope="module")
def rendered_dev(dev: Plan) -> Rendered:
    return Rendered(dev)


@pytest.fixture(scope="module")
def rendered(prod: Plan) -> Rendered:
    return Rendered(prod)


def program_objects(plan: Plan) -> list[dict[str, Any]]:
    """Every Kubernetes object the program creates itself, of any kind (Helm releases aside), as
    the API server gets it: the inputs carry apiVersion, kind and metadata."""
    return [
        dict(reg.inputs)
        for reg in plan.resources
        if reg.custom
        and reg.type.startswith("kubernetes:")
        and reg.type != HELM_RELEASE
        and not reg.type.startswith("pulumi:providers:")
    ]


def namespace_objects(r: Rendered) -> list[dict[str, Any]]:
    """The chart's objects (in the release's namespace, as Helm installs them) and every Kubernetes
    object of the program beside them."""
    namespace = r.release.inputs["namespace"]
    objects = [{**o, "metadata": {"namespace": namespace, **o["metadata"]}} for o in r.objects]
    return objects + program_objects(r.plan)


def addon_objects(plan: Plan) -> list[dict[str, Any]]:
    """The add-on charts' Deployments, from the plan's release values (tests/support/addon_objects.py)."""
    (lb,) = [r for r in plan.of_type(HELM_RELEASE) if r.inputs["chart"] == LOAD_BALANCER_CONTROLLER.chart]
    (ca,) = [r for r in plan.of_type(HELM_RELEASE) if r.inputs["chart"] == CLUSTER_AUTOSCALER.chart]
    return [
        load_balancer_controller_deployment(lb.inputs["values"]),
        cluster_autoscaler_deployment(ca.inputs["values"]),
    ]


# --------------------------------------------------------------------------- checkov


def checkov_binary() -> Path:
    """checkov from `$CHECKOV`, else `.venv-checkov` (`make test` installs it); never a skip."""
    path = Path(os.environ.get("CHECKOV") or ROOT / ".venv-checkov" / "bin" / "checkov")
    if not path.is_file():
        raise AssertionError(
            f"no checkov at {path}: run `make .venv-checkov/.installed` (make test does) or set CHECKOV="
        )
    return path


def checkov_failures(objects: list[dict[str, Any]], tmp_path: Path) -> list[tuple[str, str]]:
    """checkov's failed checks over `objects`: (check id, kind/name) each."""
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    cmd = [str(checkov_binary()), "-d", str(tmp_path), "--framework", "kubernetes", "--quiet", "--skip-download"]
    result = subprocess.run([*cmd, "--skip-check", ",".join(SKIPPED_CHECKS), "-o", "json"], capture_output=True)
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 100, report["summary"]
    failed = report["results"]["failed_checks"]
    kinds_and_names = [f["resource"].split(".") for f in failed]
    return [
        (f["check_id"], f"{kind}/{name}")
        for f, (kind, _namespace, name, *_) in zip(failed, kinds_and_names, strict=True)
    ]


def documented_exceptions() -> set[tuple[str, str]]:
    """The (check, kind/name) pairs the "Hardened pods" table of docs/security.md says stay, and why."""
    section = SECURITY_DOCS.read_text().split("\n## Hardened pods\n", 1)[1].split("\n## ", 1)[0]
    found = set()
    for check, resources, why in re.findall(r"^\| `(CKV2?_K8S_\d+)` \| ([^|]+) \| ([^|]+) \|$", section, re.M):
        assert len(why.strip()) > 20, f"{check}: say why it stays"
        found |= {(check, name) for name in re.findall(r"`([\w-]+/[\w-]+)`", resources)}
    return found


def task_pod(r: Rendered) -> dict[str, Any]:
    """The KubernetesExecutor's pod template as the Pod it becomes (issue 21: scanned as an object)."""
    template = r.pod_template()
    metadata = {**template["metadata"], "name": TASK_POD, "namespace": r.release.inputs["namespace"]}
    return {**template, "metadata": metadata}


def test_checkov_fails_only_what_the_docs_list(rendered: Rendered, tmp_path: Path) -> None:
    addons = addon_objects(rendered.plan)
    failures = checkov_failures([*namespace_objects(rendered), task_pod(rendered), *addons], tmp_path)
    addon_names = {o["metadata"]["name"] for o in addons}
    assert addon_names == {"aws-load-balancer-controller", "cluster-autoscaler"}
    # A Deployment's own checks name it, the graph checks (CKV2) its Pod.
    of_addons = [f for f in failures if f[1].split("/", 1)[1] in addon_names]
    of_task_pod = [f for f in failures if f[1] == f"Pod/{TASK_POD}"]
    assert len(failures) - len(of_addons) - len(of_task_pod) <= MAX_FAILED
    assert len(of_task_pod) <= MAX_TASK_POD_FAILED
    assert len(of_addons) <= MAX_ADDON_FAILED
    assert set(failures) == documented_exceptions()


def test_every_program_object_is_scanned(rendered: Rendered) -> None:
    """The scan's program objects are all the program's Kubernetes objects (a new kind needs no edit)."""
    kinds = sorted({o["kind"] for o in program_objects(rendered.plan)})
    assert {"NetworkPolicy", "Secret", "PersistentVolume", "TargetGroupBinding", "Namespace"} <= set(kinds)
    every = [r for r in rendered.plan.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(program_objects(rendered.plan)) == len([r for r in every if r.type != HELM_RELEASE])


def test_the_addon_pods_are_hardened_as_the_charts_render_them(rendered: Rendered) -> None:
    """The values the program sends land where each pinned template reads them (the model of
    tests/support/addon_objects.py), and leave no Restricted setting to the chart's defaults."""
    for deployment in addon_objects(rendered.plan):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["securityContext"] == ADDON_POD_SECURITY
        assert container["securityContext"] == ADDON_CONTAINER_SECURITY
        assert container["imagePullPolicy"] == "Always"
        assert container["resources"]["limits"] and container["resources"]["requests"]
        assert restricted_problems(pod) == [], deployment["metadata"]["name"]


# --------------------------------------------------------------------------- Pod Security Standards

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def baseline_problems(pod: dict[str, Any]) -> list[str]:
    """What the baseline Pod Security Standard refuses in `pod` (a pod spec)."""
    problems = [f"spec.{k}" for k in ("hostNetwork", "hostPID", "hostIPC") if pod.get(k)]
    problems += [f"volume {v['name']}: hostPath" for v in pod.get("volumes") or [] if "hostPath" in v]
    if (pod.get("securityContext") or {}).get("seccompProfile", {}).get("type") == "Unconfined":
        problems.append("pod seccomp Unconfined")
    for c in containers(pod):
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"{c['name']}: privileged")
        if set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES:
            problems.append(f"{c['name']}: adds capabilities")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            problems.append(f"{c['name']}: hostPort")
        if sc.get("seccompProfile", {}).get("type") == "Unconfined" or sc.get("procMount", "Default") != "Default":
            problems.append(f"{c['name']}: seccomp or procMount")
    return problems


def restricted_problems(pod: dict[str, Any]) -> list[str]:
    """What the restricted Pod Security Standard refuses in `pod` (baseline's refusals included)."""
    problems = baseline_problems(pod)
    problems += [f"volume {v['name']}" for v in pod.get("volumes") or [] if not set(v) - {"name"} <= RESTRICTED_VOLUMES]
    pod_sc = pod.get("securityContext") or {}
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runs as uid 0")
    for c in containers(pod):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c['name']}: allowPrivilegeEscalation")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) or sc.get("runAsUser") == 0:
            problems.append(f"{c['name']}: runAsNonRoot")
        seccomp = sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{c['name']}: seccomp")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{c['name']}: capabilities")
    return problems


def every_pod(r: Rendered) -> dict[str, dict[str, Any]]:
    """Every pod spec the namespace runs: the chart's workloads and CronJobs, the task pod
    template, and the program's git-sync Deployment (built here: prod has no git-sync)."""
    found = r.workload_pods()
    found["task-pod"] = r.pod_template()["spec"]
    found["git-sync"] = git_sync_template()["spec"]
    return found


def git_sync_template() -> dict[str, Any]:
    """The program's git-sync pod (prod has none: built here, as the component builds it)."""
    group = NodeGroup(name="airflow", instance_types=("m6i.large",), min_size=1, desired_size=1, max_size=1)
    source = GitSyncSource(repo="git@github.com:example/dags.git", credentials_secret="git")
    resources = {"limits": {"cpu": "100m", "memory": "128Mi"}}
    deployment = git_sync_deployment(
        name="git-sync", namespace="airflow", source=source, dags_claim="dags", group=group, resources=resources
    )
    template: dict[str, Any] = deployment["spec"]["template"]
    return template


def strictest_level(pod_specs: dict[str, dict[str, Any]]) -> str:
    if not any(restricted_problems(p) for p in pod_specs.values()):
        return "restricted"
    if not any(baseline_problems(p) for p in pod_specs.values()):
        return "baseline"
    return "privileged"


def test_the_checker_refuses_what_each_level_refuses() -> None:
    ok = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "c", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
        ],
        "volumes": [{"name": "v", "emptyDir": {}}],
    }
    assert restricted_problems(ok) == [] and strictest_level({"ok": ok}) == "restricted"
    root = {**ok, "securityContext": {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}}}
    assert strictest_level({"root": root}) == "baseline"
    host = {**ok, "hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    assert strictest_level({"host": host}) == "privileged"


def test_the_namespace_enforces_the_strictest_level_every_pod_passes(rendered: Rendered) -> None:
    pod_specs = every_pod(rendered)
    assert {"airflow-scheduler", "airflow-api-server", "airflow-pgbouncer", "task-pod", "git-sync"} <= set(pod_specs)
    assert {name: restricted_problems(pod) for name, pod in pod_specs.items()} == {n: [] for n in pod_specs}
    level = strictest_level(pod_specs)
    assert level == PSA_LEVEL == "restricted"
    namespace = rendered.plan.one("kubernetes:core/v1:Namespace", f"airflow-{rendered.plan.stack}-namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert labels == NAMESPACE_LABELS
    assert labels["pod-security.kubernetes.io/enforce"] == level
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_what_the_loader_accepts_from_the_user_keeps_every_pod_restricted() -> None:
    """The loader's Restricted rules (lib.airflow.hardening.restricted_problem) are enough: a user's
    containers and volumes it accepts render into pods the checker passes."""
    sidecar = {
        "name": "sidecar",
        "image": "busybox:1.36",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    scratch = {"name": "scratch", "emptyDir": {}}
    values = {
        "volumes": [scratch],
        "scheduler": {"extraContainers": [sidecar], "extraVolumes": [{"name": "more", "emptyDir": {}}]},
        "triggerer": {"extraInitContainers": [{**sidecar, "name": "init"}]},
    }
    pods = every_pod(Rendered(plan_once("dev", {"airflowValues": values})))
    scheduler = pods["airflow-scheduler"]
    assert "sidecar" in [c["name"] for c in scheduler["containers"]]
    assert "init" in [c["name"] for c in pods["airflow-triggerer"]["initContainers"]]
    assert {name: restricted_problems(pod) for name, pod in pods.items()} == {n: [] for n in pods}


def projected_tokens(pod: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    """The pod's projected service-account token volumes: name -> (expirationSeconds, the
    containers mounting it at the kubernetes client's in-cluster directory)."""
    found = {}
    for volume in pod.get("volumes") or []:
        sources = (volume.get("projected") or {}).get("sources") or []
        tokens = [s["serviceAccountToken"] for s in sources if "serviceAccountToken" in s]
        if tokens:
            (token,) = tokens
            assert token["path"] == "token" and "audience" not in token, volume  # the API server's own audience
            ca = {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
            assert ca in sources
            mounted = [
                c["name"]
                for c in containers(pod)
                for m in c.get("volumeMounts") or []
                if m["name"] == volume["name"] and m["mountPath"] == SERVICE_ACCOUNT_DIRECTORY and m.get("readOnly")
            ]
            found[volume["name"]] = (token["expirationSeconds"], mounted)
    return found


def test_tokens_are_mounted_only_where_the_kubernetes_api_is_called(rendered: Rendered) -> None:
    """The effective token of each pod: the pod's `automountServiceAccountToken`, else its account's
    (Kubernetes' rule; checkov reads the pod's only), and the projected tokens the chart mounts."""
    accounts = {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "ServiceAccount"}
    pod_specs = every_pod(rendered)
    pod_specs["task-pod"]["serviceAccountName"] = rendered.plan.outputs["airflow_worker_service_account"]
    automatic, projected = set(), {}
    for name, pod in pod_specs.items():
        account = accounts.get(pod.get("serviceAccountName", ""), {})
        if pod.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True)):
            automatic.add(name)
        if tokens := projected_tokens(pod):
            projected[name] = tokens
    # The API server's chart section offers no token volume: the automatic token (3607 s, stretched).
    assert automatic == {"airflow-api-server"}
    # The scheduler and the cleanup: a one-hour token, in the one container calling the API.
    assert projected == {
        "airflow-scheduler": {"kube-api-access": (TOKEN_EXPIRATION_SECONDS, ["scheduler"])},
        "airflow-cleanup": {"kube-api-access": (TOKEN_EXPIRATION_SECONDS, ["airflow-cleanup-pods"])},
    }
    assert TOKEN_EXPIRATION_SECONDS == 3600
    # The scheduler's pod says so itself (chart 1.22 scheduler-deployment.yaml); the cleanup's
    # CronJob template has no such field, its account does.
    assert pod_specs["airflow-scheduler"]["automountServiceAccountToken"] is False
    assert "automountServiceAccountToken" not in pod_specs["airflow-cleanup"]
    assert accounts[pod_specs["airflow-cleanup"]["serviceAccountName"]]["automountServiceAccountToken"] is False


def test_the_schedulers_groomer_alone_trims_the_logs_volume_every_airflow_pod_writes(rendered: Rendered) -> None:
    """One groomer is enough only because the Deployments share one logs folder: same claim, same
    path, no sub-path (the image's /clean-logs trims the whole folder)."""
    groomers: list[str] = []
    log_mounts: set[tuple[str | None, str, str | None]] = set()
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-dag-processor", "airflow-api-server"):
        pod = rendered.deployment_pod(name)
        claims = {v["name"]: (v.get("persistentVolumeClaim") or {}).get("claimName") for v in pod["volumes"]}
        for c in containers(pod):
            groomers += [c["name"]] if c["name"].endswith("-log-groomer") else []
            mounts = [m for m in c.get("volumeMounts") or [] if m["name"] == "logs"]
            log_mounts |= {(claims["logs"], m["mountPath"], m.get("subPath")) for m in mounts}
    assert groomers == ["scheduler-log-groomer"]
    assert log_mounts == {("airflow-logs", "/opt/airflow/logs", None)}


def test_the_control_plane_runs_read_only_and_task_pods_do_not(rendered: Rendered) -> None:
    for name, pod in every_pod(rendered).items():
        read_only = {c["name"]: (c.get("securityContext") or {}).get("readOnlyRootFilesystem") for c in containers(pod)}
        assert set(read_only.values()) == ({False} if name == "task-pod" else {True}), (name, read_only)
        for c in containers(pod) if name.startswith("airflow-") else []:  # temp files, PgBouncer's socket
            mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
            assert "/tmp" in mounts or c["name"] == "metrics-exporter", (name, c["name"])  # the exporter writes none
        for c in containers(pod):
            assert c.get("resources", {}).get("limits"), (name, c["name"])
