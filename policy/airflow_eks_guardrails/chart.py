"""What the pack knows of the official Airflow chart's values (chart 1.22.0) and of Kubernetes.

The pack is published alone (`pulumi policy publish policy`), so it holds these facts itself;
the repository's tests/unit/test_policy_pack_alone.py checks them against the program's own
(`lib/airflow/values.py`, `lib/cluster/scheduling.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

ZONE_KEY = "topology.kubernetes.io/zone"  # the well-known label of a node's zone
CONTROL_PLANE_LABELS = {
    "scheduler": "scheduler",
    "apiServer": "api-server",
    "triggerer": "triggerer",
    "dagProcessor": "dag-processor",
    "pgbouncer": "pgbouncer",
}
"""Each control-plane section of the chart's values, and the `component` label of its pods."""


def control_plane_sections(values: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(section, its values) of each control-plane component the release runs (PgBouncer only
    when enabled, with Helm's truthiness)."""
    for section in CONTROL_PLANE_LABELS:
        v = values.get(section) or {}
        if section != "pgbouncer" or v.get("enabled"):
            yield section, v
