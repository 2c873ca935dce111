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
- service-account tokens only for the scheduler (it creates the task pods), the API server
  (it reads a running task pod's log through the Kubernetes API: the cncf.kubernetes 10.5
  KubernetesExecutor.get_task_log, still so in 10.25.0, with the chart's pod-log-reader Role) and
  the failed-pod cleanup; the scheduler's and the cleanup's a projected token of one hour mounted by
  the chart (`PROJECTED_TOKEN_SECTIONS`), the API server's the automatic one. IRSA does not need
  them: the EKS pod identity webhook adds its own projected token volume for an annotated
  account (amazon-eks-pod-identity-webhook pkg/handler/handler.go, getPodSpecPatch);
- images pulled `Always` for the control plane (a few pods, rare restarts: the kubelet checks the
  registry's credentials each time), `IfNotPresent` for task pods (hundreds of starts a minute);
- one log groomer, the scheduler's (`GROOMED_SECTIONS`), with requests and limits.

Network policies: the chart's are off (`networkPolicies.enabled`); the program writes the
namespace's, default deny and one table of allowed flows (`lib/airflow/network_flows.py`). The
chart's PgBouncer policy (pgbouncer-networkpolicy.yaml, charts 1.18.0 to 1.22.0) admits every pod
labelled `tier: airflow` and `release: <release>`, task pods included, and values can only widen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.airflow.resources import Resources
from lib.merge import Path, ValuesError, owned

AIRFLOW_UID = 50000  # the chart's `uid`, the image's airflow user
NOBODY_UID = 65534  # the chart's `uid` of PgBouncer and statsd
PSA_LEVEL = "restricted"
"""Pod Security Standard the namespace enforces (every pod here passes it: tests/renders/test_hardening.py)."""
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": PSA_LEVEL for mode in ("enforce", "warn", "audit")}
TOKEN_SECTIONS = ("scheduler", "apiServer", "cleanup")
"""Chart sections whose pods mount a service-account token (they call the Kubernetes API: the
executor, the logs of running task pods, the failed-pod cleanup)."""
PROJECTED_TOKEN_SECTIONS = ("scheduler", "cleanup")
"""Token sections whose pods chart 1.22 lets mount a token of their own instead of the automatic
one (`serviceAccount.serviceAccountTokenVolume`, _helpers.yaml `serviceAccountTokenVolume`): the
account says `automountServiceAccountToken: false` (the scheduler's pod too) and the pod mounts a
projected token that expires, where the Kubernetes client reads the in-cluster one. The API server's
chart section has no such value: it keeps the automatic token."""
SERVICE_ACCOUNT_DIRECTORY = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where the kubernetes client's `load_incluster_config` reads `token` and `ca.crt` (kubernetes
36.0.3 and kubernetes_asyncio 36.1.0, the versions constraints-integration.txt pins for
apache-airflow-providers-cncf-kubernetes 10.25.0: config/incluster_config.py `SERVICE_TOKEN_FILENAME`)."""
TOKEN_EXPIRATION_SECONDS = 3600
"""The projected token's life. The kubelet writes a new one at 80% of it (48 min); both clients
re-read the file a minute after their last read (`_token_refresh_period`/`TOKEN_REFRESH_PERIOD`,
through `refresh_api_key_hook` before each request), so a token is never used past 49 min. Not
3607 s, the automatic token's: the API server stretches a pod-bound token of exactly that life to
its extended maximum (kubernetes pkg/registry/core/serviceaccount/storage/token.go with
`--service-account-extend-token-expiration`; a year upstream, 90 days on EKS), this one expires."""
PROJECTED_TOKEN_VOLUME = {
    "enabled": True,
    "mountPath": SERVICE_ACCOUNT_DIRECTORY,
    "volumeName": "kube-api-access",
    "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
}
NO_TOKEN_SECTIONS = ("triggerer", "dagProcessor", "pgbouncer", "statsd", "migrateDatabaseJob", "createUserJob")
GROOMED_SECTIONS = ("scheduler",)
"""The sections whose pods keep the chart's log groomer sidecar. Every Airflow pod mounts the same EFS
claim on the logs folder and the image's /clean-logs trims that whole folder (apache/airflow
scripts/docker/clean-logs.sh: `find "${AIRFLOW_HOME}"/logs`), so the scheduler's replicas groom the
triggerer's and the DAG processor's logs too."""
UNGROOMED_SECTIONS = ("triggerer", "dagProcessor")
"""Sections whose groomer the chart would run too (on by default in 1.22): off, as each would walk
the same EFS folder every 15 minutes again, for a container without a probe."""
LOG_GROOMER = Resources("10m", "64Mi", "100m", "128Mi")
SECCOMP = {"type": "RuntimeDefault"}
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}
RESTRICTED_VIA = (
    "every Airflow pod runs under the Restricted Pod Security Standard the namespace enforces "
    "(docs/security.md, Hardened pods)"
)
NETWORK_VIA = (
    "the program writes the namespace's NetworkPolicies (lib/airflow/network_flows.py); add peers through "
    "apiServer.networkPolicy.ingress.from, pgbouncer.extraNetworkPolicies or statsd.extraNetworkPolicies"
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


def hardening_values() -> dict[str, Any]:
    """The values fragment: security contexts, tokens, pull policies, /tmp, the chart's network
    policies off (the program writes them: `lib.airflow.network_flows.network_policies`)."""
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
        values.setdefault(section, {})["serviceAccount"] = (
            {"automountServiceAccountToken": False, "serviceAccountTokenVolume": PROJECTED_TOKEN_VOLUME}
            if section in PROJECTED_TOKEN_SECTIONS
            else {"automountServiceAccountToken": True}
        )
    for section in NO_TOKEN_SECTIONS:
        values.setdefault(section, {})["serviceAccount"] = {"automountServiceAccountToken": False}
    for section in (*GROOMED_SECTIONS, *UNGROOMED_SECTIONS):  # resources too for one a user turns back on
        values[section]["logGroomerSidecar"] = {
            "enabled": section in GROOMED_SECTIONS,
            "resources": LOG_GROOMER.values(),
        }
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
