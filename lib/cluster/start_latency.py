"""How long a task waits from its pod's creation to running when its group has no node: the steps
of each node autoscaler (`sizing/start-latency.json`, each step with its source or assumption).

The Cluster Autoscaler notices a pending pod on its next scan, then asks the group's Auto Scaling
group for one more instance; Karpenter batches pending pods for a second, then launches the
instance itself (EC2 CreateFleet). From there the steps are the same: the node boots and joins,
the image is pulled, the pod starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class NodeAutoscaler(StrEnum):
    CLUSTER_AUTOSCALER = "clusterAutoscaler"
    KARPENTER = "karpenter"


@dataclass(frozen=True)
class Step:
    step: str
    seconds: float
    basis: str
    """`source: ...` or `assumption: ...`."""


def steps(table: Mapping[str, Any], autoscaler: NodeAutoscaler) -> list[Step]:
    """The autoscaler's own steps, then the common ones."""
    rows = [*table["steps"][autoscaler.value], *table["steps"]["common"]]
    out = []
    for row in rows:
        kind = "source" if "source" in row else "assumption"
        out.append(Step(row["step"], float(row["seconds"]), f"{kind}: {row[kind]}"))
    return out


def start_seconds(table: Mapping[str, Any], autoscaler: NodeAutoscaler) -> float:
    return sum(s.seconds for s in steps(table, autoscaler))
