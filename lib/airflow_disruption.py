"""PodDisruptionBudgets for the control-plane components whose chart section has none.

Chart 1.18.0 templates a PodDisruptionBudget for the scheduler, API server and PgBouncer
(`lib.airflow_values.PDB_SECTIONS`) but none for the triggerer or the DAG processor, so a node
drain could evict both replicas of either at once. The program adds these, selecting the pods by
the labels the chart puts on them (the same the spread constraints select).
"""

from __future__ import annotations

from typing import Any

from lib.airflow_secrets import RELEASE_NAME
from lib.airflow_values import COMPONENT_LABELS, PDB_SECTIONS

EXTRA_PDB_SECTIONS = tuple(s for s in COMPONENT_LABELS if s not in PDB_SECTIONS)


def extra_disruption_budgets(namespace: str, release: str = RELEASE_NAME) -> list[dict[str, Any]]:
    """One PodDisruptionBudget (policy/v1) per section in EXTRA_PDB_SECTIONS: one pod down at a time."""
    budgets = []
    for section in EXTRA_PDB_SECTIONS:
        component = COMPONENT_LABELS[section]
        labels = {"tier": "airflow", "component": component, "release": release}
        budgets.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": f"{release}-{component}-pdb", "namespace": namespace, "labels": labels},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
            }
        )
    return budgets
