"""Failed task pods deleted after a retention: the chart's `cleanup` CronJob, running this module.

The KubernetesExecutor deletes a task pod that succeeded (`[kubernetes_executor] delete_worker_pods`)
and keeps a failed one (`delete_worker_pods_on_failure` off), for its events and its log. Nothing
deleted those later, and they piled up until a namespace delete took long. The chart's own
cleanup command, `airflow kubernetes cleanup-pods` (cncf.kubernetes provider), deletes failed pods
at its next run whatever their age, so a pod that failed a minute before went a minute later. This
script deletes the namespace's failed task pods that finished at least the retention ago, and
nothing else; the CronJob (chart 1.22.0 templates/cleanup/cleanup-cronjob.yaml, with the chart's
pod-cleanup Role: list and delete pods) runs it hourly in the Airflow image, whose cncf.kubernetes
provider brings the `kubernetes` client.

The module is the script: `cleanup_values` puts its source on the CronJob's command line, and the
pure functions are tested here (tests/unit/test_pod_cleanup.py); only `main` talks to the API.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lib.airflow.resources import Resources

SCRIPT = Path(__file__)
SCHEDULE = "17 * * * *"
"""Hourly: a failed pod goes between its retention and an hour later."""
TASK_POD_SELECTOR = "tier=airflow,component=worker"
"""The labels of the task pods' template (the chart's pod template; lib/airflow/network_flows.py `labels`)."""


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) and value else None


def finished_at(pod: Mapping[str, Any]) -> datetime | None:
    """When a failed pod's last container finished, else when it started or was created."""
    status = pod.get("status") or {}
    ends = [
        _time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for s in status.get("containerStatuses") or []
    ]
    known = [t for t in ends if t is not None]
    if known:
        return max(known)
    return _time(status.get("startTime")) or _time((pod.get("metadata") or {}).get("creationTimestamp"))


def expired(pods: Sequence[Mapping[str, Any]], now: datetime, retention_hours: int) -> list[str]:
    """Names of the failed pods that finished `retention_hours` or more before `now`."""
    cutoff = now - timedelta(hours=retention_hours)
    return [
        pod["metadata"]["name"]
        for pod in pods
        if (pod.get("status") or {}).get("phase") == "Failed"
        and (done := finished_at(pod)) is not None
        and done <= cutoff
    ]


def main(namespace: str, retention_hours: int) -> None:  # pragma: no cover - runs in the cluster
    from kubernetes import client, config  # the Airflow image's, not the program's

    config.load_incluster_config()
    api = client.CoreV1Api()
    listed = api.list_namespaced_pod(
        namespace, label_selector=TASK_POD_SELECTOR, field_selector="status.phase=Failed", _preload_content=False
    )
    for name in expired(json.loads(listed.data)["items"], datetime.now(UTC), retention_hours):
        print(f"deleting failed task pod {name}", flush=True)
        try:
            api.delete_namespaced_pod(name, namespace)
        except client.ApiException as err:
            if err.status != 404:  # gone already (the executor, a user)
                raise


def cleanup_values(namespace: str, retention_hours: int, resources: Resources) -> dict[str, Any]:
    """The chart's `cleanup` section: the CronJob running this script (its security context, account
    token and placement are the hardening's and the control plane's, like every other pod's)."""
    return {
        "cleanup": {
            "enabled": True,
            "schedule": SCHEDULE,
            "resources": resources.values(),
            # The chart's own args are `bash -c ...` too; the script is bash's $0, its arguments $1 $2.
            "args": ["bash", "-c", 'exec python -c "$0" "$@"', SCRIPT.read_text(), namespace, str(retention_hours)],
        }
    }


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1], int(sys.argv[2]))
