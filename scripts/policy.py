"""The policy pack over offline plans, then the AZ-loss table (`make policy`; reports/guardrails.py).

python scripts/policy.py build/plan-prod.json [more plans]
"""

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offline.chart import render
from reports.guardrails import airflow_release, main


def render_airflow(plan: Any) -> list[dict[str, Any]]:
    """The plan's Airflow chart rendered by Helm (the AZ-loss analysis reads its pods' requests)."""
    release = airflow_release(plan)
    return render(
        release["values"],
        version=release["version"],
        release=release["name"],
        namespace=release["namespace"],
        kube_version=plan["outputs"]["cluster_kubernetes_version"],
    )


if __name__ == "__main__":
    sys.exit(main(render_airflow))
