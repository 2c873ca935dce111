"""Hardened pods and network isolation for the Airflow chart: a values fragment, the namespace's
Pod Security labels and the NetworkPolicies the chart lacks. Plain data; README "Hardened pods"
and "Network isolation" say what each part is for and what checkov still reports.

Pods (chart 1.22, values merged before the user's `airflowValues`):
- every pod `RuntimeDefault` seccomp and non-root; every container drops all capabilities and
  never escalates; Airflow's uid 50000 (the image's user), PgBouncer's and statsd's 65534;
- read-only root file systems for the control plane and the Jobs, with an emptyDir on /tmp (read
  in airflow-core 3.0.2: the only writes outside the logs and DAGs volumes are temp files, the
  DAG bundles' locks under `tempfile.gettempdir()`, and a `mkdir(exist_ok=True)` of the UI's
  existing folder; the same two in 3.3.2's dag_processing/bundles/base.py and core_api/app.py,
  not a full re-read; PgBouncer's unix socket is in /tmp). Task pods keep a writable root: DAG code
  writes where it likes;
- service-account tokens only for the scheduler (it creates the task pods) and the API server
  (it reads a running task pod's log through the Kubernetes API: the cncf.kubernetes 10.5
  KubernetesExecutor.get_task_log, still so in 10.25.0, with the chart's pod-log-reader Role). IRSA does not need
  them: the EKS pod identity webhook adds its own projected token volume for an annotated
  account (amazon-eks-pod-identity-webhook pkg/handler/handler.go, getPodSpecPatch);
- images pulled `Always` for the control plane (a few pods, rare restarts: the kubelet checks the
  registry's credentials each time), `IfNotPresent` for task pods (hundreds of starts a minute);
- requests and limits on the log groomers too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lib.airflow_resources import Resources
from lib.airflow_secrets import RELEASE_NAME

AIRFLOW_UID = 50000  # the chart's `uid`, the image's airflow user
NOBODY_UID = 65534  # the chart's `uid` of PgBouncer and statsd
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
WORKER_LOGS_PORT = 8793  # `ports.workerLogs`: a running task pod serves its log here (3.3.2 config.yml default)
TRIGGERER_LOGS_PORT = 8794  # `ports.triggererLogs` (`[logging] trigger_log_server_port`, 3.3.2 default)
PSA_LEVEL = "restricted"
"""Pod Security Standard the namespace enforces (every pod here passes it: tests/test_pod_security.py)."""
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": PSA_LEVEL for mode in ("enforce", "warn", "audit")}
TOKEN_SECTIONS = ("scheduler", "apiServer")
"""Chart sections whose pods mount a service-account token (they call the Kubernetes API)."""
NO_TOKEN_SECTIONS = ("triggerer", "dagProcessor", "pgbouncer", "statsd", "migrateDatabaseJob", "createUserJob")
GROOMED_SECTIONS = ("scheduler", "triggerer", "dagProcessor")  # sections with a log groomer sidecar
LOG_GROOMER = Resources("10m", "64Mi", "100m", "128Mi")
SECCOMP = {"type": "RuntimeDefault"}
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}


def container_security(read_only: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": read_only,
    }


def pod_security(uid: int) -> dict[str, Any]:
    # fsGroup 0: the chart's default gid, the group the EFS access points and the image use.
    return {"runAsUser": uid, "runAsNonRoot": True, "fsGroup": 0, "seccompProfile": SECCOMP}


def labels(component: str, release: str = RELEASE_NAME) -> dict[str, str]:
    """The labels the chart puts on a component's pods (`worker`: the task pods' template)."""
    return {"tier": "airflow", "component": component, "release": release}


def _api_server_peers(load_balancer_cidrs: Sequence[str], release: str) -> list[dict[str, Any]]:
    """Who reaches the API server: the NLB (its addresses in the node subnets: health checks and
    requests, the target group preserves no client IP) and the task pods (the execution API)."""
    return [
        *({"ipBlock": {"cidr": cidr}} for cidr in load_balancer_cidrs),
        {"podSelector": {"matchLabels": labels("worker", release)}},
    ]


def hardening_values(load_balancer_cidrs: Sequence[str], release: str = RELEASE_NAME) -> dict[str, Any]:
    """The values fragment: security contexts, tokens, pull policies, /tmp, network policies."""
    values: dict[str, Any] = {
        "securityContexts": {"pod": pod_security(AIRFLOW_UID), "containers": container_security()},
        "volumes": [TMP_VOLUME],
        "volumeMounts": [TMP_MOUNT],
        "images": {
            **{image: {"pullPolicy": "Always"} for image in ("airflow", "pgbouncer", "pgbouncerExporter", "statsd")},
            "pod_template": {"pullPolicy": "IfNotPresent"},
        },
        "networkPolicies": {"enabled": True},
        # Task pods: `workers.kubernetes.*` (chart 1.22; the shared `workers.*` keys are deprecated).
        "workers": {
            "kubernetes": {
                "securityContexts": {
                    "pod": pod_security(AIRFLOW_UID),
                    "container": container_security(read_only=False),
                },
                "serviceAccount": {"automountServiceAccountToken": False},
            }
        },
        "apiServer": {"networkPolicy": {"ingress": {"from": _api_server_peers(load_balancer_cidrs, release)}}},
    }
    for section in TOKEN_SECTIONS:
        values.setdefault(section, {})["serviceAccount"] = {"automountServiceAccountToken": True}
    for section in NO_TOKEN_SECTIONS:
        values.setdefault(section, {})["serviceAccount"] = {"automountServiceAccountToken": False}
    for section in GROOMED_SECTIONS:
        values[section]["logGroomerSidecar"] = {"resources": LOG_GROOMER.values()}
    for section in ("pgbouncer", "statsd"):
        values[section]["securityContexts"] = {"pod": pod_security(NOBODY_UID), "container": container_security()}
    values["pgbouncer"]["metricsExporterSidecar"] = {"securityContexts": {"container": container_security()}}
    return values


def _policy(name: str, selector: dict[str, Any], ingress: list[dict[str, Any]], release: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{release}-{name}-policy", "labels": {"tier": "airflow", "release": release}},
        "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def _from_api_server(port: int, release: str) -> list[dict[str, Any]]:
    return [{"from": [{"podSelector": {"matchLabels": labels("api-server", release)}}], "ports": [{"port": port}]}]


def network_policies(release: str = RELEASE_NAME) -> list[dict[str, Any]]:
    """Ingress policies for the pods the chart's policies leave open or mis-name: the DAG
    processor, the Jobs and git-sync serve nothing (kubelet probes are never blocked); the API
    server reads a running task's log from its pod and a deferred task's from the triggerer (the
    chart's triggerer policy admits `component: webserver`, which Airflow 3 has no longer)."""
    return [
        _policy("dag-processor", labels("dag-processor", release), [], release),
        _policy("run-airflow-migrations", labels("run-airflow-migrations", release), [], release),
        _policy("create-user", labels("create-user-job", release), [], release),
        _policy("git-sync", {"app.kubernetes.io/name": "git-sync"}, [], release),
        _policy("task-pod", labels("worker", release), _from_api_server(WORKER_LOGS_PORT, release), release),
        _policy(
            "triggerer-logs", labels("triggerer", release), _from_api_server(TRIGGERER_LOGS_PORT, release), release
        ),
    ]
