"""The airflow.cfg the real chart renders from a stack's values, for `make integration` to lint.

Runs the program offline for each stack (offline/mocks.py), renders the official chart at the
version the release pins with the values it carries (offline/chart.py, real Helm), and writes,
per stack, the `airflow.cfg` of the rendered `airflow-config` ConfigMap, the `config` section of
the values (what the program itself sets, to check against the Airflow it runs), and the
rendered admin-user Job's container args and the file it reads the password from (to run its command
for real):

    .venv/bin/python scripts/rendered_airflow_cfg.py --out DIR [--stack dev --stack prod]
    -> DIR/airflow-<stack>.cfg, DIR/values-config-<stack>.json, DIR/create-user-<stack>.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.airflow.secret_files import admin_password_path  # noqa: E402
from offline.chart import render  # noqa: E402
from offline.mocks import run_program  # noqa: E402

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "airflow-config"
CREATE_USER_JOB = "airflow-create-user"


def rendered_cfg(stack: str) -> tuple[str, dict[str, dict[str, str]], dict[str, object]]:
    """(the chart's airflow.cfg, the values' `config`, the admin-user Job's args and password
    file) for `stack`'s plan."""
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
    (job,) = [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == CREATE_USER_JOB]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # The file the args read is in a mounted directory (the Job's secrets volume).
    (_,) = [m for m in container["volumeMounts"] if admin_password_path().startswith(m["mountPath"] + "/")]
    create_user = {
        "args": container["args"],
        "command": container.get("command"),
        "password_file": admin_password_path(),
    }
    return config_map["data"]["airflow.cfg"], i["values"]["config"], create_user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--stack", action="append", help="dev and prod by default")
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    for stack in options.stack or ["dev", "prod"]:
        cfg, config, create_user = rendered_cfg(stack)
        (options.out / f"airflow-{stack}.cfg").write_text(cfg)
        (options.out / f"values-config-{stack}.json").write_text(json.dumps(config, indent=1, sort_keys=True))
        (options.out / f"create-user-{stack}.json").write_text(json.dumps(create_user, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
