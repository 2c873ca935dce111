"""Which failed task pods the cleanup CronJob deletes (lib/airflow/pod_cleanup.py), on pods as the
Kubernetes API lists them (JSON)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from typing import Any

from lib.airflow.pod_cleanup import SCRIPT, cleanup_values, expired, finished_at
from lib.airflow.resources import Resources

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def pod(
    name: str, phase: str, finished: list[str | None], start: str | None = "2026-12-01T00:00:00Z"
) -> dict[str, Any]:
    statuses: list[dict[str, Any]] = [
        {"state": {"terminated": {"finishedAt": f}} if f else {"waiting": {}}} for f in finished
    ]
    return {
        "metadata": {"name": name, "creationTimestamp": "2026-11-30T00:00:00Z"},
        "status": {"phase": phase, "startTime": start, "containerStatuses": statuses},
    }


def test_a_failed_pod_goes_once_its_last_container_finished_the_retention_ago() -> None:
    pods = [
        pod("old", "Failed", ["2026-12-06T11:00:00Z", "2026-12-06T12:00:00Z"]),  # exactly 24 h
        pod("recent", "Failed", ["2026-12-05T00:00:00Z", "2026-12-06T12:00:01Z"]),  # the last one counts
        pod("succeeded", "Succeeded", ["2026-12-01T00:00:00Z"]),  # the executor's to delete
        pod("running", "Running", [None]),
    ]
    assert expired(pods, NOW, 24) == ["old"]
    assert expired(pods, NOW, 1) == ["old", "recent"]


def test_without_a_finish_time_the_start_then_the_creation_counts() -> None:
    never_ran = pod("never-ran", "Failed", [None])
    assert finished_at(never_ran) == datetime(2026, 12, 1, tzinfo=UTC)
    no_start = pod("no-start", "Failed", [], start=None)
    assert finished_at(no_start) == datetime(2026, 11, 30, tzinfo=UTC)
    assert expired([never_ran, no_start], NOW, 157) == ["no-start"]  # 156 h and 180 h ago
    assert finished_at({"metadata": {"name": "bare"}, "status": {}}) is None
    assert expired([{"metadata": {"name": "bare"}, "status": {"phase": "Failed"}}], NOW, 1) == []


def test_the_values_run_this_module_with_the_retention() -> None:
    values = cleanup_values("airflow", 48, Resources("10m", "64Mi", "100m", "128Mi"))
    args = values["cleanup"]["args"]
    assert args[:3] == ["bash", "-c", 'exec python -c "$0" "$@"'] and args[4:] == ["airflow", "48"]
    assert args[3] == SCRIPT.read_text()
    ast.parse(args[3])  # python runs it as it is
    assert "{{" not in args[3]  # the chart passes args through `tpl`
    assert values["cleanup"]["enabled"] is True
    assert values["cleanup"]["resources"] == Resources("10m", "64Mi", "100m", "128Mi").values()
