"""The KubernetesExecutor's task pod template (the chart's `podTemplate` value): task pods that hold no keys.

Plain data. The chart's own template (chart 1.22.0 files/pod-template-file.kubernetes-helm-yaml)
gives every task pod `standard_airflow_environment` (templates/_helpers.yaml): the metadata
connection, the Fernet key and the API secret key from their Secrets, and mounts the DAGs volume
read-write (read-only only with the chart's own git-sync). In Airflow 3 a task talks to the API
server's execution API only (task-sdk 1.3.2 execution_time/supervisor.py, with the token the
executor puts in the pod's arguments), so this template gives it none of them:

- env: `AIRFLOW_HOME`, the executor's name, the user's `env` and `workers.kubernetes.env` (the
  remote-logs connection, no credentials: IRSA); never a variable in `SECRET_ENV_NAMES`, and no
  `envFrom`;
- volumes: airflow.cfg from the chart's ConfigMap (read-only; it holds `[core]
  execution_api_server_url` and no secret), the DAGs claim read-only, the logs claim writable:
  the task's supervisor writes `[logging] base_log_folder`/<log_path> in the pod (task-sdk 1.3.2
  log.py `init_log_file`) and uploads it to S3 itself when the task ends (supervisor.py
  `_upload_logs`), the API server reads a finished task's local copy from the claim;
- the worker service account (IRSA), placement, resources and security contexts of
  `workers.kubernetes.*`, the chart's labels (`tier`, `component: worker`, `release`: the network
  policies and the executor's pod selection read them), no service-account token.

The executor adds the rest (cncf.kubernetes 10.25.0 pod_generator.py `construct_pod`): the pod's
name, its labels and annotations, the `base` container's args (`python -m airflow.sdk.execution_time.
execute_workload --json-string <workload>`) and `AIRFLOW_IS_K8S_EXECUTOR_POD`; it merges its pod
into the template's first container, which must be named `base`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from lib.airflow.secrets import RELEASE_NAME

BASE_CONTAINER = "base"
AIRFLOW_HOME = "/opt/airflow"  # the chart's `airflowHome`
CONFIG_MAP = f"{RELEASE_NAME}-config"  # the chart's `airflow_config`: `<fullname>-config`
TERMINATION_GRACE_SECONDS = 600  # the chart's `workers.terminationGracePeriodSeconds` (1.22.0 values.yaml)
SECRET_ENV_NAMES = frozenset(
    {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",
        "AIRFLOW__CORE__FERNET_KEY_CMD",
        "AIRFLOW__API__SECRET_KEY_CMD",
        "AIRFLOW_CONN_AIRFLOW_DB",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__CORE__FERNET_KEY_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API__SECRET_KEY_SECRET",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API_AUTH__JWT_SECRET_SECRET",
        "AIRFLOW__WEBSERVER__SECRET_KEY",
        "AIRFLOW__WEBSERVER__SECRET_KEY_SECRET",
        "KEDA_DB_CONN",
    }
)
"""What a task pod must never carry: the chart's `standard_airflow_environment` (1.22.0), their
`_SECRET` forms (Airflow reads `<KEY>_SECRET` from a secrets backend) and the `_CMD` forms the
control plane reads its files with (lib/airflow/secret_files.py)."""


TASK_POD_KEYS = (
    "env",
    "extraVolumes",
    "extraVolumeMounts",
    "securityContexts",
    "resources",
    "nodeSelector",
    "tolerations",
    "affinity",
    "topologySpreadConstraints",
    "priorityClassName",
    "runtimeClassName",
    "labels",
    "podAnnotations",
    "safeToEvict",
    "serviceAccount",
    "terminationGracePeriodSeconds",
)
"""The `workers.kubernetes` keys the template reads. Chart 1.22.0 deprecates each shared
`workers.<key>` (values.schema.json), which its own template read for task pods only without the
`workers.kubernetes` one; this template reads `workers.kubernetes` alone, so config/airflow.py
refuses the shared keys rather than let one be ignored."""


def _section(values: Mapping[str, Any]) -> Mapping[str, Any]:
    workers = values.get("workers") or {}
    return dict(workers.get("kubernetes") or {})


def _image(values: Mapping[str, Any]) -> str:
    pod_template = (values.get("images") or {}).get("pod_template") or {}
    repository = pod_template.get("repository") or values["defaultAirflowRepository"]
    return f"{repository}:{pod_template.get('tag') or values['defaultAirflowTag']}"


def _env(values: Mapping[str, Any], section: Mapping[str, Any]) -> list[dict[str, Any]]:
    env = [
        {"name": "AIRFLOW__CORE__EXECUTOR", "value": str(values.get("executor", "KubernetesExecutor"))},
        {"name": "AIRFLOW_HOME", "value": AIRFLOW_HOME},
        *(values.get("env") or []),
        *(section.get("env") or []),
    ]
    held = sorted({e["name"] for e in env} & SECRET_ENV_NAMES)
    if held:
        raise ValueError(f"task pods hold no keys: remove {held} from airflowValues' env / workers.kubernetes.env")
    return env


def _mounts(values: Mapping[str, Any], section: Mapping[str, Any]) -> list[dict[str, Any]]:
    logs = {"name": "logs", "mountPath": f"{AIRFLOW_HOME}/logs"}
    sub_path = ((values.get("logs") or {}).get("persistence") or {}).get("subPath")
    if sub_path:
        logs["subPath"] = sub_path
    dags_path = (values.get("dags") or {}).get("mountPath") or f"{AIRFLOW_HOME}/dags"
    return [
        logs,
        {"name": "config", "mountPath": f"{AIRFLOW_HOME}/airflow.cfg", "subPath": "airflow.cfg", "readOnly": True},
        # Writers are git-sync (its own Deployment) and whoever copies DAGs in: never a task.
        {"name": "dags", "mountPath": dags_path, "readOnly": True},
        *(values.get("volumeMounts") or []),
        *(section.get("extraVolumeMounts") or []),
    ]


def _volumes(values: Mapping[str, Any], section: Mapping[str, Any]) -> list[dict[str, Any]]:
    def claim(volume: str) -> str:
        persistence = (values.get(volume) or {}).get("persistence") or {}
        if not persistence.get("enabled") or not persistence.get("existingClaim"):
            raise ValueError(f"the task pod template mounts the {volume} volume: `{volume}.persistence` is required")
        return str(persistence["existingClaim"])

    return [
        {"name": "dags", "persistentVolumeClaim": {"claimName": claim("dags"), "readOnly": True}},
        {"name": "logs", "persistentVolumeClaim": {"claimName": claim("logs")}},
        {"name": "config", "configMap": {"name": CONFIG_MAP}},
        *(values.get("volumes") or []),
        *(section.get("extraVolumes") or []),
    ]


def task_pod(values: Mapping[str, Any], release: str = RELEASE_NAME) -> dict[str, Any]:
    """The template as a v1 Pod, from the release's values (`workers.kubernetes.*`, images, volumes)."""
    section = _section(values)
    contexts = section.get("securityContexts") or {}
    safe_to_evict = section.get("safeToEvict")
    annotations = {
        **(values.get("airflowPodAnnotations") or {}),
        # The chart's default: the autoscaler never evicts a running task to drain a node.
        "cluster-autoscaler.kubernetes.io/safe-to-evict": str(bool(safe_to_evict)).lower(),
        **(section.get("podAnnotations") or {}),
    }
    container: dict[str, Any] = {
        "name": BASE_CONTAINER,
        "image": _image(values),
        "imagePullPolicy": ((values.get("images") or {}).get("pod_template") or {}).get("pullPolicy", "IfNotPresent"),
        "env": _env(values, section),
        "resources": section.get("resources") or {},
        "securityContext": contexts.get("container") or {},
        "volumeMounts": _mounts(values, section),
    }
    spec: dict[str, Any] = {
        "containers": [container],
        "restartPolicy": "Never",
        "serviceAccountName": (section.get("serviceAccount") or {}).get("name") or f"{release}-worker",
        # IRSA needs no token: the EKS pod identity webhook projects its own.
        "automountServiceAccountToken": False,
        "securityContext": contexts.get("pod") or {},
        "nodeSelector": section.get("nodeSelector") or {},
        "tolerations": section.get("tolerations") or [],
        "terminationGracePeriodSeconds": section.get("terminationGracePeriodSeconds") or TERMINATION_GRACE_SECONDS,
        "volumes": _volumes(values, section),
    }
    for key in ("affinity", "topologySpreadConstraints", "priorityClassName", "runtimeClassName"):
        if section.get(key):
            spec[key] = section[key]
    labels = {**(values.get("labels") or {}), **(section.get("labels") or {})}
    labels |= {"tier": "airflow", "component": "worker", "release": release}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "placeholder-name", "labels": labels, "annotations": annotations},
        "spec": spec,
    }


def task_pod_template(values: Mapping[str, Any], release: str = RELEASE_NAME) -> str:
    """The `podTemplate` value: the pod as YAML. The chart passes it through `tpl`, so a literal
    `{{` (in a user's env value, say) is quoted as a template string that prints itself."""
    text = yaml.safe_dump(task_pod(values, release), sort_keys=False, default_flow_style=False)
    return text.replace("{{", '{{ "{{" }}')
