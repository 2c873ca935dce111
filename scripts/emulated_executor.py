"""The KubernetesExecutor with only the Kubernetes API emulated (`make integration`'s Airflow run).

Runs inside the scheduler (apache-airflow-providers-cncf-kubernetes 10.25.0). Everything the
provider does stays its own: `execute_async` and the task queue, `AirflowKubernetesScheduler.
run_next` building the pod (`_build_pod_request`: the pod template file through
`PodGenerator.construct_pod`, with the workload's command from `workload_to_command_args`, the
executor's labels and annotations, the mutation hook), `run_pod_async` serialising it, the
`KubernetesJobWatcher` turning pod phases into results (`process_status`, `collect_pod_failure_
details`), `_change_state`, pod deletion and patches. What is emulated is the API server:

- `EmulatedCoreV1Api` stands in for the `CoreV1Api` client (`_get_executor_kube_client`): a
  pod it is asked to create is written, as the JSON the provider sends, to the kubelet's spool
  (`emulated-kubelet/pods/`), where scripts/airflow_run.py's kubelet starts its main container
  as a process; deletions and label patches are written there too;
- `EmulatedJobWatcher` is the provider's watcher with its event stream (`_pod_events`, a
  `watch.Watch().stream(list_namespaced_pod)` in the provider) read from the kubelet's pod
  statuses instead, with the watch's label selector applied;
- `_adopt_completed_pods` adopts nothing: it lists pods through the API's discovery
  (DynamicClient), and this run has one scheduler, so no other scheduler's pods exist.

Installed as `[core] executor = emulated_executor.EmulatedKubernetesExecutor`, the one key in
which the scheduler's airflow.cfg differs from the render; this file sits in the scheduler's
`$AIRFLOW_HOME/config`, which Airflow puts on `sys.path` (airflow 3.3 settings.py,
`prepare_syspath_for_config_and_plugins`), next to `emulated-kubelet` (the spool directory).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow.providers.cncf.kubernetes import kube_client as kube_client_module
from airflow.providers.cncf.kubernetes.executors import kubernetes_executor_utils as utils
from airflow.providers.cncf.kubernetes.executors.kubernetes_executor import KubernetesExecutor
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

SPOOL = Path(__file__).resolve().parent / "emulated-kubelet"
POLL_SECONDS = 0.3


def _write(path: Path, data: Any) -> None:
    """Atomically: the kubelet (another process) reads these files while they are written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data))
    partial.replace(path)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


class EmulatedCoreV1Api:
    """The calls the KubernetesExecutor makes on `CoreV1Api`, answered from the kubelet's spool."""

    def __init__(self, spool: Path = SPOOL) -> None:
        from kubernetes.client import ApiClient

        self.spool = spool
        self.api_client = ApiClient()  # the real client's serialiser (sanitize_for_serialization)

    def create_namespaced_pod(self, body: dict[str, Any], namespace: str, **_: Any) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if (self.spool / "pods" / f"{name}.json").exists():
            raise utils.ApiException(status=409, reason=f"pods {name!r} already exists")
        _write(self.spool / "pods" / f"{name}.json", {**body, "metadata": {**body["metadata"], "namespace": namespace}})
        return body

    def delete_namespaced_pod(self, name: str, namespace: str, **_: Any) -> None:
        if not (self.spool / "pods" / f"{name}.json").exists():
            raise utils.ApiException(status=404, reason=f"pods {name!r} not found")
        _write(self.spool / "deleted" / f"{name}.json", {"namespace": namespace})

    def patch_namespaced_pod(self, name: str, namespace: str, body: dict[str, Any], **_: Any) -> None:
        patches = self.spool / "patches" / f"{name}.json"
        labels = {**(_read(patches) or {}), **body.get("metadata", {}).get("labels", {})}
        _write(patches, labels)

    def pods(self) -> Iterator[dict[str, Any]]:
        """Each pod as the API would return it: the created manifest, its patched labels, its status."""
        for manifest in sorted((self.spool / "pods").glob("*.json")):
            pod = _read(manifest)
            name = pod["metadata"]["name"]
            labels = {**(pod["metadata"].get("labels") or {}), **(_read(self.spool / "patches" / f"{name}.json") or {})}
            state = _read(self.spool / "status" / f"{name}.json") or {"resourceVersion": "0", "status": {}}
            metadata = {**pod["metadata"], "labels": labels, "resourceVersion": state["resourceVersion"]}
            yield {**pod, "metadata": metadata, "status": state["status"]}


def _selected(labels: dict[str, str], selector: str) -> bool:
    """An equality-based label selector (`a=b,c!=d`), as the watcher's query uses."""
    for requirement in filter(None, selector.split(",")):
        if "!=" in requirement:
            key, value = requirement.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        else:
            key, value = requirement.split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
    return True


class EmulatedJobWatcher(utils.KubernetesJobWatcher):
    """The provider's pod watcher, fed by the kubelet's pod statuses instead of a watch stream."""

    def run(self) -> None:
        client = EmulatedCoreV1Api()
        version: str | None = getattr(self, "resource_version", None)
        while True:  # the stream ends only with the process (the executor terminates it)
            version = self._run(client, version, self.scheduler_job_id, self.kube_config)

    def _pod_events(self, kube_client: Any, query_kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        selector = query_kwargs.get("label_selector", "")
        since = int(query_kwargs.get("resource_version") or 0)
        seen: dict[str, int] = {}
        while True:
            for raw in kube_client.pods():
                version = int(raw["metadata"]["resourceVersion"])
                name = raw["metadata"]["name"]
                if version <= since or seen.get(name) == version or not raw["status"]:
                    continue
                if not _selected(raw["metadata"]["labels"], selector):
                    continue
                event_type = "ADDED" if name not in seen else "MODIFIED"
                seen[name] = version
                yield {"type": event_type, "object": PodGenerator.deserialize_model_dict(raw), "raw_object": raw}
            time.sleep(POLL_SECONDS)


class EmulatedKubernetesExecutor(KubernetesExecutor):
    """KubernetesExecutor whose Kubernetes API is the kubelet's spool (see the module docstring)."""

    def start(self) -> None:
        kube_client_module._get_executor_kube_client = lambda team_name=None: EmulatedCoreV1Api()
        utils.KubernetesJobWatcher = EmulatedJobWatcher
        super().start()

    def _adopt_completed_pods(self, kube_client: Any) -> None:
        """One scheduler in this run: no other scheduler's completed pods to adopt."""
