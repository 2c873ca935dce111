"""The airflow.cfg the real chart renders from a stack's values, for `make integration` to lint.

Runs the program offline for each stack (offline/mocks.py), renders the official chart at the
version the release pins with the values it carries (offline/chart.py, real Helm), and writes,
per stack, the `airflow.cfg` of the rendered `airflow-config` ConfigMap and the `config` section
of the values (what the program itself sets, to check against the Airflow it runs):

    .venv/bin/python scripts/rendered_airflow_cfg.py --out DIR [--stack dev --stack prod]
    -> DIR/airflow-<stack>.cfg, DIR/values-config-<stack>.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.chart import render  # noqa: E402
from offline.mocks import run_program  # noqa: E402

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "airflow-config"


def rendered_cfg(stack: str) -> tuple[str, dict[str, dict[str, str]]]:
    """(the chart's airflow.cfg, the values' `config`) for `stack`'s plan."""
    plan = run_program(stack)
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "airflow"]
    i = release.inputs
    objects = render(
        i["values"],
        version=i["version"],
        release=i["name"],
        namespace=i["namespace"],
        kube_version=plan.outputs["cluster_kubernetes_version"],
    )
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == CONFIG_MAP]
    return config_map["data"]["airflow.cfg"], i["values"]["config"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--stack", action="append", help="dev and prod by default")
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    for stack in options.stack or ["dev", "prod"]:
        cfg, config = rendered_cfg(stack)
        (options.out / f"airflow-{stack}.cfg").write_text(cfg)
        (options.out / f"values-config-{stack}.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
