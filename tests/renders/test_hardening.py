"""Hardened pods and network isolation, on what Helm renders from the prod values.

- checkov (its own virtualenv, `.venv-checkov`, made by `make test`) over the render and the
  program's own Kubernetes objects: at most MAX_FAILED failures, exactly those the "Hardened pods"
  table of docs/security.md lists.
- Pod Security Standards: a checker of the baseline and restricted levels over every pod (the
  chart's workloads, the task pod template, git-sync); the namespace enforces the strictest level
  they all pass and warns and audits at restricted.
- Network policies: an evaluator of ingress rules, and the flows Airflow needs (allowed) and some
  it must not have (denied).
"""

from __future__ import annotations

import ipaddress
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
from lib.airflow.hardening import PSA_LEVEL, TRIGGERER_LOGS_PORT, WORKER_LOGS_PORT, network_policies
from lib.cluster.node_groups import NodeGroup
from lib.network.subnets import node_subnet_cidrs
from offline.mocks import Plan, run_program
from tests.support.renders import Rendered, containers

ROOT = Path(__file__).resolve().parents[2]
SECURITY_DOCS = ROOT / "docs" / "security.md"
MAX_FAILED = 30  # issue 20: chart 1.22.0 renders 27; issue 25 adds the cleanup CronJob (3, those of the Jobs)
TASK_POD = "airflow-task-pod"
MAX_TASK_POD_FAILED = 5  # issue 21: the task pod template, scanned as a Pod since (docs/security.md, "Hardened pods")
SKIPPED_CHECKS = ("CKV_K8S_21",)  # "the default namespace": `helm template` leaves objects without one
PROGRAM_KINDS = {
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
PGBOUNCER_PORT = 6543  # the chart's `ports.pgbouncer`
API_SERVER_PORT = 8080


@pytest.fixture(scope="module")
def rendered_dev(dev: Plan) -> Rendered:
    return Rendered(dev)


@pytest.fixture(scope="module")
def rendered(prod: Plan) -> Rendered:
    return Rendered(prod)


def namespace_objects(r: Rendered) -> list[dict[str, Any]]:
    """What the namespace holds: the chart's objects (in the release's namespace, as Helm installs
    them) and the program's Kubernetes objects beside them."""
    namespace = r.release.inputs["namespace"]
    objects = [{**o, "metadata": {"namespace": namespace, **o["metadata"]}} for o in r.objects]
    for type_, (api_version, kind) in PROGRAM_KINDS.items():
        for reg in r.plan.of_type(type_):
            metadata = {**reg.inputs["metadata"], "namespace": namespace}
            objects.append({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": reg.inputs["spec"]})
    return objects


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
    failures = checkov_failures([*namespace_objects(rendered), task_pod(rendered)], tmp_path)
    chart_and_program = [f for f in failures if f[1] != f"Pod/{TASK_POD}"]
    assert len(chart_and_program) <= MAX_FAILED
    assert len(failures) - len(chart_and_program) <= MAX_TASK_POD_FAILED
    assert set(failures) == documented_exceptions()


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
    found = {o["metadata"]["name"]: o["spec"]["template"]["spec"] for o in r.objects if o["kind"] in WORKLOADS}
    found |= {
        o["metadata"]["name"]: o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for o in r.objects
        if o["kind"] == "CronJob"
    }
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
    pods = every_pod(Rendered(run_program("dev", config_overrides={"airflowValues": values})))
    scheduler = pods["airflow-scheduler"]
    assert "sidecar" in [c["name"] for c in scheduler["containers"]]
    assert "init" in [c["name"] for c in pods["airflow-triggerer"]["initContainers"]]
    assert {name: restricted_problems(pod) for name, pod in pods.items()} == {n: [] for n in pods}


def test_tokens_are_mounted_only_where_the_kubernetes_api_is_called(rendered: Rendered) -> None:
    """The chart sets `automountServiceAccountToken` on the accounts (checkov reads pods only)."""
    accounts = {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "ServiceAccount"}
    pod_specs = every_pod(rendered)
    pod_specs["task-pod"]["serviceAccountName"] = rendered.plan.outputs["airflow_worker_service_account"]
    mounted = set()
    for name, pod in pod_specs.items():
        account = accounts.get(pod.get("serviceAccountName", ""), {})
        if pod.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True)):
            mounted.add(name)
    assert mounted == {"airflow-scheduler", "airflow-api-server", "airflow-cleanup"}


def test_the_control_plane_runs_read_only_and_task_pods_do_not(rendered: Rendered) -> None:
    for name, pod in every_pod(rendered).items():
        read_only = {c["name"]: (c.get("securityContext") or {}).get("readOnlyRootFilesystem") for c in containers(pod)}
        assert set(read_only.values()) == ({False} if name == "task-pod" else {True}), (name, read_only)
        for c in containers(pod) if name.startswith("airflow-") else []:  # temp files, PgBouncer's socket
            mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
            assert "/tmp" in mounts or c["name"] == "metrics-exporter", (name, c["name"])  # the exporter writes none
        for c in containers(pod):
            assert c.get("resources", {}).get("limits"), (name, c["name"])


# --------------------------------------------------------------------------- network policies


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for e in selector.get("matchExpressions") or []:
        present, value = e["key"] in labels, labels.get(e["key"])
        op = e["operator"]
        if (op == "In" and value not in e["values"]) or (op == "NotIn" and value in e.get("values", [])):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return (selector.get("matchLabels") or {}).items() <= labels.items()


def _peer_admits(peer: dict[str, Any], source: dict[str, Any], namespace: str) -> bool:
    if "ipBlock" in peer:
        if "ip" not in source:
            return False
        ip = ipaddress.ip_address(source["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if "labels" not in source:
        return False
    if "namespaceSelector" in peer:
        in_namespace = _selects(peer["namespaceSelector"], source.get("namespace_labels", {}))
    else:
        in_namespace = source.get("namespace", namespace) == namespace
    return in_namespace and _selects(peer.get("podSelector", {}), source["labels"])


def _port_admits(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    return not ports or any(
        str(p.get("port", port)) == str(port) and p.get("protocol", "TCP") == protocol for p in ports
    )


def ingress_allowed(
    policies: list[dict[str, Any]], target: dict[str, str], source: dict[str, Any], port: int, protocol: str = "TCP"
) -> bool:
    """Whether `source` ({"labels", "namespace"} for a pod, {"ip"} otherwise) may open `port` on a
    pod labelled `target` in the policies' namespace: a pod selected by no Ingress policy is open;
    otherwise one rule of a selecting policy must admit both the source and the port."""
    namespace = policies[0]["metadata"]["namespace"]
    selecting = [
        p
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"]) and _selects(p["spec"]["podSelector"], target)
    ]
    return not selecting or any(
        _port_admits(rule.get("ports"), port, protocol)
        and (not rule.get("from") or any(_peer_admits(peer, source, namespace) for peer in rule["from"]))
        for p in selecting
        for rule in p["spec"].get("ingress") or []
    )


def pod_labels(r: Rendered) -> dict[str, dict[str, str]]:
    """The labels of every pod, as rendered (the task pod's from its template)."""
    found = {
        o["metadata"]["name"].removeprefix("airflow-"): o["spec"]["template"]["metadata"]["labels"]
        for o in r.objects
        if o["kind"] in WORKLOADS
    }
    found["task-pod"] = r.pod_template()["metadata"]["labels"]
    return found


def test_the_evaluator_follows_the_network_policy_rules() -> None:
    policy = {
        "metadata": {"namespace": "ns"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}],
        },
    }
    web, db = {"labels": {"app": "web"}}, {"app": "db"}
    assert ingress_allowed([policy], db, web, 5432)
    assert not ingress_allowed([policy], db, web, 22)
    assert not ingress_allowed([policy], db, {"labels": {"app": "web"}, "namespace": "other"}, 5432)
    assert not ingress_allowed([policy], db, {"ip": "10.0.0.1"}, 5432)
    assert ingress_allowed([policy], {"app": "cache"}, {"ip": "10.0.0.1"}, 6379)  # not selected: open


def test_airflow_reaches_what_it_needs_and_nothing_else(rendered: Rendered) -> None:
    objects = namespace_objects(rendered)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policies and all(p["spec"]["policyTypes"] == ["Ingress"] for p in policies)  # egress stays open (DNS)
    pods = pod_labels(rendered)
    pods["git-sync"] = git_sync_template()["metadata"]["labels"]
    for name, labels in pods.items():  # every pod is isolated: selected by some policy
        assert any(_selects(p["spec"]["podSelector"], labels) for p in policies), name

    def allowed(target: str, source: str | dict[str, Any], port: int) -> bool:
        origin = {"labels": pods[source]} if isinstance(source, str) else source
        return ingress_allowed(policies, pods[target], origin, port)

    vpc_cidr = rendered.plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"]
    for cidr in node_subnet_cidrs(vpc_cidr):  # the NLB: health checks and requests from its subnets
        nlb = {"ip": str(next(ipaddress.ip_network(cidr).hosts()))}
        assert allowed("api-server", nlb, API_SERVER_PORT)
        assert not allowed("api-server", nlb, 8793) and not allowed("pgbouncer", nlb, PGBOUNCER_PORT)
    assert not allowed("api-server", {"ip": "192.0.2.10"}, API_SERVER_PORT)
    assert allowed("api-server", "task-pod", API_SERVER_PORT)  # the execution API
    for client in ("api-server", "scheduler", "dag-processor", "triggerer", "run-airflow-migrations"):
        assert allowed("pgbouncer", client, PGBOUNCER_PORT), client
    assert allowed("pgbouncer", "create-user", PGBOUNCER_PORT)
    assert not allowed("pgbouncer", "task-pod", PGBOUNCER_PORT)  # Airflow 3's tasks use the execution API
    assert allowed("task-pod", "api-server", WORKER_LOGS_PORT) and allowed(
        "triggerer", "api-server", TRIGGERER_LOGS_PORT
    )
    stranger = {"labels": {"app": "anything"}}
    elsewhere = {"labels": pods["scheduler"], "namespace": "default"}
    for target, port in (("pgbouncer", PGBOUNCER_PORT), ("api-server", API_SERVER_PORT), ("task-pod", 8793)):
        assert not allowed(target, stranger, port) and not allowed(target, elsewhere, port), target
    assert not allowed("api-server", "scheduler", API_SERVER_PORT)  # Airflow 3.0's scheduler never calls it
    assert not allowed("triggerer", "task-pod", TRIGGERER_LOGS_PORT)
    for closed in ("scheduler", "dag-processor", "run-airflow-migrations", "create-user", "git-sync"):
        assert not any(allowed(closed, source, port) for source in pods for port in (8080, 8793, 8794)), closed


DATABASE_USERS = {"api-server", "scheduler", "dag-processor", "triggerer", "run-airflow-migrations", "create-user"}
"""The rendered workloads (names without `airflow-`) that use the metadata database through PgBouncer."""


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pgbouncer_admits_the_control_plane_and_the_jobs_only(
    rendered: Rendered, rendered_dev: Rendered, stack: str
) -> None:
    r = rendered if stack == "prod" else rendered_dev
    policies = [o for o in namespace_objects(r) if o["kind"] == "NetworkPolicy"]
    pods = pod_labels(r)  # every workload of the render, and the task pod from the pod template file
    assert pods["task-pod"] == {"tier": "airflow", "component": "worker", "release": "airflow"}
    assert set(pods) > DATABASE_USERS
    admitted = {
        name: ingress_allowed(policies, pods["pgbouncer"], {"labels": labels}, PGBOUNCER_PORT)
        for name, labels in pods.items()
    }
    assert admitted == {name: name in DATABASE_USERS for name in pods}, admitted
    # The chart renders none (its PgBouncer policy admits every `tier: airflow` pod): the program's only.
    assert [o["metadata"]["name"] for o in r.objects if o["kind"] == "NetworkPolicy"] == []
    # The exporter's port: nobody (the runbook reads it through a port-forward, outside NetworkPolicy).
    assert not any(ingress_allowed(policies, pods["pgbouncer"], {"labels": labels}, 9127) for labels in pods.values())
    # A task pod keeps what it needs: the API server's execution API, and StatsD where the chart's runs.
    assert ingress_allowed(policies, pods["api-server"], {"labels": pods["task-pod"]}, API_SERVER_PORT)
    if "statsd" in pods:
        assert ingress_allowed(policies, pods["statsd"], {"labels": pods["task-pod"]}, 9125, "UDP")
        assert not ingress_allowed(policies, pods["statsd"], {"labels": {"app": "other"}}, 9125, "UDP")


def test_extra_peers_given_to_the_chart_are_kept() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    overrides = {
        "pgbouncer": {"extraNetworkPolicies": [peer]},
        "statsd": {"extraNetworkPolicies": [peer]},
        "apiServer": {"networkPolicy": {"ingress": {"from": [peer]}}},
    }
    by_name = {p["metadata"]["name"]: p for p in network_policies(("10.0.0.0/24",), overrides)}
    assert by_name["airflow-statsd-ingress-policy"]["spec"]["ingress"][0]["from"][-1] == peer
    # As the chart does: the user's PgBouncer peers (a Prometheus, say) reach the exporter too.
    clients, monitoring = by_name["airflow-pgbouncer-ingress-policy"]["spec"]["ingress"]
    assert monitoring == {
        "from": [peer],
        "ports": [{"protocol": "TCP", "port": 6543}, {"protocol": "TCP", "port": 9127}],
    }
    assert clients["ports"] == [{"protocol": "TCP", "port": 6543}]
    assert len(network_policies(())[1]["spec"]["ingress"]) == 1  # none given: no second rule
    assert by_name["airflow-api-server-ingress-policy"]["spec"]["ingress"][0]["from"] == [
        {"ipBlock": {"cidr": "10.0.0.0/24"}},
        {"podSelector": {"matchLabels": {"tier": "airflow", "component": "worker", "release": "airflow"}}},
        peer,
    ]
    assert [p["metadata"]["name"] for p in network_policies(())] == list(by_name)
