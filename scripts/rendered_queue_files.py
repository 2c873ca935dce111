"""The task-queue files the real chart renders for a stack with queue groups, for `make integration`.

Runs the program offline for the example stack examples/stacks/Pulumi.queues.yaml (a GPU queue
group and another), renders the official chart with the values its release carries (real Helm),
and writes the `airflow-config` ConfigMap's `airflow_local_settings.py` (the queues' cluster
policy, lib/airflow/queues.py) and `pod_template_file.yaml` (the KubernetesExecutor's template),
which scripts/queue_routing_probe.py then hands to the real Airflow:

    .venv/bin/python scripts/rendered_queue_files.py --out DIR
    -> DIR/airflow_local_settings.py, DIR/pod_template_file.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.chart import render  # noqa: E402
from offline.mocks import run_program  # noqa: E402

STACK = "queues"
CONFIG_DIR = ROOT / "examples" / "stacks"
CONFIG_MAP = "airflow-config"
FILES = ("airflow_local_settings.py", "pod_template_file.yaml")


def rendered_files(stack: str = STACK, config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    plan = run_program(stack, config_dir=config_dir)
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "airflow"]
    i = release.inputs
    objects = render(
        i["values"],
        version=i["version"],
        release=i["name"],
        namespace=i["namespace"],
        kube_version=plan.outputs["cluster_kubernetes_version"],
    )
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == CONFIG_MAP]
    return {name: str(config_map["data"][name]) for name in FILES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    for name, text in rendered_files().items():
        (options.out / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
