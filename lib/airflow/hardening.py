"""Hardened pods and network isolation for the Airflow chart: a values fragment, the namespace's
Pod Security labels and the namespace's NetworkPolicies. Plain data; docs/security.md "Hardened pods"
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

Network policies (ingress only), all the program's: the chart's are off (`networkPolicies.enabled`).
Its PgBouncer policy (pgbouncer-networkpolicy.yaml, the same in charts 1.18.0 and 1.22.0) admits
every pod labelled `tier: airflow` and `release: <release>`, which the task pods' template
carries too (`component: worker`), and values can only add peers to it, never narrow it; Helm
cannot drop one template of a release. So the program writes each policy the chart would, with
PgBouncer's port open only to the components that use the metadata database: scheduler, API
server, triggerer, DAG processor, the migration and admin-user Jobs (and 1.22's database
cleanup CronJob when enabled). Task pods talk to the API server's execution API only (Airflow
3's task SDK), and PgBouncer's exporter port is read through `kubectl port-forward`, which no
NetworkPolicy governs. The names differ from the chart's (`-ingress-policy`), so an upgrade never
has the program create an object Helm still owns. Peers the user adds through the chart's own
values (`pgbouncer.extraNetworkPolicies`, `statsd.extraNetworkPolicies`,
`apiServer.networkPolicy.ingress.from`) are kept.
Labels are not an identity: a DAG's `executor_config` pod override can set any label on its task
pod (cncf.kubernetes 10.5.0 `PodGenerator.construct_pod` merges the template, the executor's
pod and the override, the override last), so these policies keep out the task pods that do not
impersonate a component; PgBouncer's login refuses the others, a task pod holding no database
credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lib.airflow.resources import Resources
from lib.airflow.secrets import RELEASE_NAME
from lib.merge import Path, ValuesError, owned

AIRFLOW_UID = 50000  # the chart's `uid`, the image's airflow user
NOBODY_UID = 65534  # the chart's `uid` of PgBouncer and statsd
API_SERVER_PORT = 8080  # the chart's `ports.apiServer`
PGBOUNCER_PORT = 6543  # `ports.pgbouncer`
PGBOUNCER_EXPORTER_PORT = 9127  # `ports.pgbouncerScrape`
STATSD_INGEST_PORT = 9125  # `ports.statsdIngest` (UDP)
STATSD_SCRAPE_PORT = 9102  # `ports.statsdScrape`
DATABASE_CLIENTS = (
    "scheduler",
    "api-server",
    "triggerer",
    "dag-processor",
    "run-airflow-migrations",
    "create-user-job",
    "database-cleanup",
)
"""The `component` labels (charts 1.18.0 and 1.22.0) of the pods that use the metadata database."""
WORKER_LOGS_PORT = 8793  # `ports.workerLogs`: a running task pod serves its log here (3.3.2 config.yml default)
TRIGGERER_LOGS_PORT = 8794  # `ports.triggererLogs` (`[logging] trigger_log_server_port`, 3.3.2 default)
PSA_LEVEL = "restricted"
"""Pod Security Standard the namespace enforces (every pod here passes it: tests/renders/test_hardening.py)."""
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": PSA_LEVEL for mode in ("enforce", "warn", "audit")}
TOKEN_SECTIONS = ("scheduler", "apiServer", "cleanup")
"""Chart sections whose pods mount a service-account token (they call the Kubernetes API: the
executor, the logs of running task pods, the failed-pod cleanup)."""
NO_TOKEN_SECTIONS = ("triggerer", "dagProcessor", "pgbouncer", "statsd", "migrateDatabaseJob", "createUserJob")
GROOMED_SECTIONS = ("scheduler", "triggerer", "dagProcessor")  # sections with a log groomer sidecar
LOG_GROOMER = Resources("10m", "64Mi", "100m", "128Mi")
SECCOMP = {"type": "RuntimeDefault"}
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}
RESTRICTED_VIA = (
    "every Airflow pod runs under the Restricted Pod Security Standard the namespace enforces "
    "(docs/security.md, Hardened pods)"
)
NETWORK_VIA = (
    "the program writes the namespace's NetworkPolicies; add peers through apiServer.networkPolicy.ingress.from, "
    "pgbouncer.extraNetworkPolicies or statsd.extraNetworkPolicies"
)

# What the user's values may not hold anywhere, whatever the chart would do with it: the
# Restricted Pod Security Standard (Kubernetes 1.33 "Pod Security Standards"), which the namespace
# enforces, so a pod breaking it is refused by the API server after the cluster exists.
POD_SECURITY_KEYS = frozenset({"securityContext", "securityContexts"})
"""A section's own security context overrides the program's (chart 1.22 `_helpers.yaml`
`airflowPodSecurityContext`: the section's, else the global one): refused outside containers."""
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
CONTAINER_LISTS = frozenset({"extraContainers", "extraInitContainers"})
"""Containers the chart renders as given (e.g. scheduler-deployment.yaml `tpl (toYaml ...extraContainers)`):
the program's security contexts do not reach them, so each carries its own."""
VOLUME_LISTS = frozenset({"volumes", "extraVolumes"})
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


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


def hardening_values() -> dict[str, Any]:
    """The values fragment: security contexts, tokens, pull policies, /tmp, the chart's network
    policies off (the program writes them: `network_policies`)."""
    values: dict[str, Any] = {
        "securityContexts": owned(
            {"pod": pod_security(AIRFLOW_UID), "containers": container_security()}, RESTRICTED_VIA
        ),
        "volumes": [TMP_VOLUME],
        "volumeMounts": [TMP_MOUNT],
        "images": {
            **{image: {"pullPolicy": "Always"} for image in ("airflow", "pgbouncer", "pgbouncerExporter", "statsd")},
            "pod_template": {"pullPolicy": "IfNotPresent"},
        },
        "networkPolicies": owned({"enabled": False}, NETWORK_VIA),
        # Task pods: `workers.kubernetes.*` (chart 1.22; the shared `workers.*` keys are deprecated).
        "workers": {
            "kubernetes": {
                "securityContexts": owned(
                    {"pod": pod_security(AIRFLOW_UID), "container": container_security(read_only=False)},
                    RESTRICTED_VIA,
                ),
                "serviceAccount": {"automountServiceAccountToken": False},
            }
        },
    }
    for section in TOKEN_SECTIONS:
        values.setdefault(section, {})["serviceAccount"] = {"automountServiceAccountToken": True}
    for section in NO_TOKEN_SECTIONS:
        values.setdefault(section, {})["serviceAccount"] = {"automountServiceAccountToken": False}
    for section in GROOMED_SECTIONS:
        values[section]["logGroomerSidecar"] = {"resources": LOG_GROOMER.values()}
    for section in ("pgbouncer", "statsd"):
        values[section]["securityContexts"] = owned(
            {"pod": pod_security(NOBODY_UID), "container": container_security()}, RESTRICTED_VIA
        )
    values["pgbouncer"]["metricsExporterSidecar"] = {
        "securityContexts": owned({"container": container_security()}, RESTRICTED_VIA)
    }
    return values


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _container_problem(container: Any) -> str | None:
    """Why a container of the user's would break the Restricted standard, or None."""
    if not isinstance(container, Mapping):
        return None  # the chart's schema refuses it
    sc: Mapping[str, Any] = _map(container.get("securityContext"))
    caps, seccomp = _map(sc.get("capabilities")), _map(sc.get("seccompProfile"))
    ports = container.get("ports")
    ports = ports if isinstance(ports, list) else []
    checks = (
        (sc.get("allowPrivilegeEscalation") is not False, "needs securityContext.allowPrivilegeEscalation: false"),
        ("ALL" not in (caps.get("drop") or []), "needs securityContext.capabilities.drop: [ALL]"),
        (bool(set(caps.get("add") or []) - RESTRICTED_CAPABILITIES), "may add no capability but NET_BIND_SERVICE"),
        (bool(sc.get("privileged")), "may not be privileged"),
        (sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0, "may not run as root"),
        (seccomp.get("type", "RuntimeDefault") not in ("RuntimeDefault", "Localhost"), "needs RuntimeDefault seccomp"),
        (sc.get("procMount", "Default") != "Default", "needs the Default procMount"),
        (any(isinstance(p, Mapping) and p.get("hostPort") for p in ports), "may not use a hostPort"),
    )
    return next((why for failed, why in checks if failed), None)


def _entry_problems(key: str, entries: list[Any], path: Path) -> ValuesError | None:
    for i, entry in enumerate(entries):
        here = (*path, f"[{i}]")
        if key in CONTAINER_LISTS:
            why = _container_problem(entry)
            if why:
                return ValuesError(here, f"{why}: {RESTRICTED_VIA}")
        elif isinstance(entry, Mapping):
            kinds = sorted(set(entry) - {"name"} - RESTRICTED_VOLUMES)
            if kinds:
                return ValuesError(
                    here,
                    f"a {kinds[0]} volume is refused: accepted: {', '.join(sorted(RESTRICTED_VOLUMES))}; "
                    f"{RESTRICTED_VIA}",
                )
    return None


def restricted_problem(values: Mapping[str, Any], path: Path = ()) -> ValuesError | None:
    """The first place where the user's chart `values` would break the Restricted Pod Security
    Standard, or None: a security context outside a container of theirs, a host namespace, a
    container of theirs without the Restricted settings (allowPrivilegeEscalation false, every
    capability dropped, ...), a volume of a kind Restricted refuses (hostPath, ...)."""
    for key, value in values.items():
        here = (*path, key)
        if key in POD_SECURITY_KEYS:
            return ValuesError(here, f"is the program's: {RESTRICTED_VIA}")
        if key in HOST_NAMESPACES and value:
            return ValuesError(here, f"is refused: {RESTRICTED_VIA}")
        problem = None
        if isinstance(value, Mapping):
            problem = restricted_problem(value, here)
        elif isinstance(value, list) and key in CONTAINER_LISTS | VOLUME_LISTS:
            problem = _entry_problems(key, value, here)
        if problem is not None:
            return problem
    return None


def _policy(name: str, selector: dict[str, Any], ingress: list[dict[str, Any]], release: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{release}-{name}-policy", "labels": {"tier": "airflow", "release": release}},
        "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def _from_api_server(port: int, release: str) -> list[dict[str, Any]]:
    return [{"from": [{"podSelector": {"matchLabels": labels("api-server", release)}}], "ports": [{"port": port}]}]


def _extra_peers(values: Mapping[str, Any], *path: str) -> list[Any]:
    """The list at `path` in the user's chart values, or none."""
    found: Any = values
    for key in path:
        found = found.get(key) if isinstance(found, Mapping) else None
    return list(found) if isinstance(found, list) else []


def _rule(peers: list[dict[str, Any]], *ports: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"from": peers, "ports": [{"protocol": protocol, "port": port} for protocol, port in ports]}]


def _chart_sections(load_balancer_cidrs: Sequence[str], extra: Mapping[str, Any], release: str) -> list[dict[str, Any]]:
    """The chart's policies, PgBouncer's narrowed to `DATABASE_CLIENTS`; the user's extra peers kept."""
    database_clients = {
        "matchLabels": {"tier": "airflow", "release": release},
        "matchExpressions": [{"key": "component", "operator": "In", "values": list(DATABASE_CLIENTS)}],
    }
    api_server_peers = _api_server_peers(load_balancer_cidrs, release)
    api_server_peers += _extra_peers(extra, "apiServer", "networkPolicy", "ingress", "from")
    pgbouncer = _rule([{"podSelector": database_clients}], ("TCP", PGBOUNCER_PORT))
    monitoring = _extra_peers(extra, "pgbouncer", "extraNetworkPolicies")  # the chart gives them both ports
    if monitoring:
        pgbouncer += _rule(monitoring, ("TCP", PGBOUNCER_PORT), ("TCP", PGBOUNCER_EXPORTER_PORT))
    # The chart's statsd exporter when it runs (not with the CloudWatch agent): every Airflow pod
    # of the release sends metrics, task pods too.
    statsd_peers = [{"podSelector": {"matchLabels": {"tier": "airflow", "release": release}}}]
    statsd_peers += _extra_peers(extra, "statsd", "extraNetworkPolicies")
    return [
        _policy(
            "api-server-ingress",
            labels("api-server", release),
            _rule(api_server_peers, ("TCP", API_SERVER_PORT)),
            release,
        ),
        _policy("pgbouncer-ingress", labels("pgbouncer", release), pgbouncer, release),
        _policy("scheduler-ingress", labels("scheduler", release), [], release),
        _policy(
            "statsd-ingress",
            labels("statsd", release),
            _rule(statsd_peers, ("UDP", STATSD_INGEST_PORT), ("TCP", STATSD_SCRAPE_PORT)),
            release,
        ),
    ]


def network_policies(
    load_balancer_cidrs: Sequence[str], overrides: Mapping[str, Any] | None = None, release: str = RELEASE_NAME
) -> list[dict[str, Any]]:
    """Every ingress policy of the namespace (see the module docstring): the chart's, and those for
    the pods the chart's policies leave open or mis-name: the DAG processor, the Jobs and git-sync
    serve nothing (kubelet probes are never blocked); the API server reads a running task's log
    from its pod and a deferred task's from the triggerer (the chart's triggerer policy admits
    `component: webserver` on 1.18.0). `overrides`: the user's chart values."""
    return [
        *_chart_sections(load_balancer_cidrs, overrides or {}, release),
        _policy("dag-processor", labels("dag-processor", release), [], release),
        _policy("run-airflow-migrations", labels("run-airflow-migrations", release), [], release),
        _policy("create-user", labels("create-user-job", release), [], release),
        _policy("git-sync", {"app.kubernetes.io/name": "git-sync"}, [], release),
        _policy("task-pod", labels("worker", release), _from_api_server(WORKER_LOGS_PORT, release), release),
        _policy(
            "triggerer-logs", labels("triggerer", release), _from_api_server(TRIGGERER_LOGS_PORT, release), release
        ),
    ]
