"""Single sign-on on the rendered chart (Helm 1.22.0 with the example stack's values): the API server
alone mounts the generated webserver_config.py and reads the client secret; no admin-user Job; every
object passes the Kubernetes schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from lib.airflow.sso import CLIENT_SECRET_ENV, CLIENT_SECRET_KEY, CLIENT_SECRET_NAME
from tests.support.plans import plan_once
from tests.support.renders import Rendered, containers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stacks"
CONFIG_PATH = "/opt/airflow/webserver_config.py"  # the chart's `airflowHome`/webserver_config.py


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return Rendered(plan_once("sso", {"ssoClientSecret": "cognito-client-secret"}, config_dir=EXAMPLES))


def pod_specs(r: Rendered) -> dict[str, dict[str, Any]]:
    found = {}
    for o in r.objects:
        if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            found[f"{o['kind']}/{o['metadata']['name']}"] = o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            found[f"CronJob/{o['metadata']['name']}"] = o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    found["task-pod"] = r.pod_template()["spec"]
    return found


def test_only_the_api_server_mounts_the_generated_config(rendered: Rendered) -> None:
    config = rendered.one("ConfigMap", "airflow-api-server-config")
    generated = rendered.release.inputs["values"]["apiServer"]["apiServerConfig"]
    assert config["data"]["webserver_config.py"] == generated.rstrip("\n")  # the chart's `|-` drops the last newline
    mounting = {}
    for name, pod in pod_specs(rendered).items():
        volumes = {
            v["name"]
            for v in pod.get("volumes", [])
            if v.get("configMap", {}).get("name") == config["metadata"]["name"]
        }
        mounts = [
            (c["name"], m["mountPath"])
            for c in containers(pod)
            for m in c.get("volumeMounts", [])
            if m["name"] in volumes
        ]
        if mounts:
            mounting[name] = mounts
    assert mounting == {"Deployment/airflow-api-server": [("api-server", CONFIG_PATH)]}
    # A change of the file rolls the API server (the chart's own checksum of its ConfigMap).
    pod = rendered.one("Deployment", "airflow-api-server")["spec"]["template"]
    assert "checksum/api-server-config" in pod["metadata"]["annotations"]


def test_only_the_api_server_reads_the_client_secret(rendered: Rendered) -> None:
    readers = {}
    for name, pod in pod_specs(rendered).items():
        refs = [
            (c["name"], e["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for c in containers(pod)
            for e in c.get("env", [])
            if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == CLIENT_SECRET_NAME
        ]
        refs += [
            (c["name"], "envFrom", "")
            for c in containers(pod)
            for e in c.get("envFrom", [])
            if e.get("secretRef", {}).get("name") == CLIENT_SECRET_NAME
        ]
        refs += [
            ("volume", v["name"], "")
            for v in pod.get("volumes", [])
            if v.get("secret", {}).get("secretName") == CLIENT_SECRET_NAME
        ]
        if refs:
            readers[name] = refs
    assert readers == {"Deployment/airflow-api-server": [("api-server", CLIENT_SECRET_ENV, CLIENT_SECRET_KEY)]}


def test_no_admin_user_job_and_the_objects_are_valid(rendered: Rendered) -> None:
    jobs = {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "Job"}
    assert jobs == {"airflow-run-airflow-migrations"}
    assert (
        "core.auth_manager" not in rendered.airflow_cfg()
        or "FabAuthManager" in rendered.airflow_cfg()["core.auth_manager"]
    )
    for o in rendered.objects:
        kubernetes_validate.validate(o, rendered.kube_version, strict=True)
