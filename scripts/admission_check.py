"""The stack's admission policies' decision on the pods the KubernetesExecutor created, for `make integration`.

Reads the render `scripts/airflow_render.py` wrote (its "admission": the program's
ValidatingAdmissionPolicies) and the task pods the emulated executor handed the emulated kubelet
(built by the pinned Airflow's KubernetesExecutor, `pod_override`s included), and evaluates each
policy on each pod as created by the scheduler's account (offline/admission.py, cel-python). Prints
one line per pod; exits 1 if any pod would be refused. Runs in the project's virtualenv.

    .venv/bin/python scripts/admission_check.py RENDER.json PODS.json --username USER
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.admission import admitted  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("render", type=Path, help="scripts/airflow_render.py's output")
    parser.add_argument("pods", type=Path, help="a JSON list of v1 Pods")
    parser.add_argument("--username", required=True, help="the account that creates the pods")
    options = parser.parse_args(argv)
    policies = json.loads(options.render.read_text())["admission"]
    pods = json.loads(options.pods.read_text())
    if not policies or not pods:
        print(f"nothing to decide: {len(policies)} policies, {len(pods)} pods")
        return 1
    refused = 0
    for pod in pods:
        ok = all(admitted(spec, pod, options.username) for spec in policies.values())
        refused += not ok
        account = pod["spec"].get("serviceAccountName")
        images = ", ".join(sorted({c["image"] for c in pod["spec"]["containers"]}))
        print(f"{'admitted' if ok else 'REFUSED'}: {pod['metadata']['name']} as {account} ({images})")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
