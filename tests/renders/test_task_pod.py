"""Task pods that hold no keys (issue 21, item 2) and the control plane rolled by a rotation (item 4),
on the prod stack's real render (`helm template` of chart 1.22.0 with the values its release carries); a
rotation is read in the values, which the render carries as they are."""

from __future__ import annotations

import hashlib
import json

import kubernetes_validate
import pytest
import yaml

import offline.fakes
from lib.airflow.secrets import ROLLOUT_ANNOTATION, ROLLOUT_SECTIONS, SECRET_NAMES
from lib.airflow.task_pod import SECRET_ENV_NAMES, task_pod, task_pod_template
from lib.database.pgbouncer.tls import config_checksum
from offline.chart import render
from offline.mocks import Plan, run_program
from tests.support.plans import plan_once, recorded_once
from tests.support.renders import Rendered, airflow_release

ROLLED_DEPLOYMENTS = ("airflow-scheduler", "airflow-api-server", "airflow-triggerer", "airflow-dag-processor")
BROUGHT = {"existingDbHost": "db.example.internal", "existingDbPassword": "first-password-value"}


@pytest.fixture(scope="module")
def recorded() -> tuple[Plan, dict[str, dict[str, str]]]:
    return recorded_once("prod")


@pytest.fixture(scope="module")
def rendered(recorded: tuple[Plan, dict[str, dict[str, str]]]) -> Rendered:
    return Rendered(recorded[0])


@pytest.fixture(scope="module")
def secrets(recorded: tuple[Plan, dict[str, dict[str, str]]]) -> dict[str, str]:
    """Every value the program writes into a Kubernetes Secret, by `secret/key`."""
    return {f"{name}/{key}": value for name, data in recorded[1].items() for key, value in data.items()}


def config_map(r: Rendered) -> dict[str, str]:
    data: dict[str, str] = r.one("ConfigMap", "airflow-config")["data"]
    return data


def test_the_rendered_task_pod_holds_no_keys(rendered: Rendered, secrets: dict[str, str]) -> None:
    pod = rendered.pod_template()
    (container,) = pod["spec"]["containers"]
    assert "initContainers" not in pod["spec"]
    assert container["name"] == "base"  # cncf.kubernetes 10.25.0 merges its pod into the container named base
    assert "envFrom" not in container
    names = [e["name"] for e in container["env"]]
    assert names == ["AIRFLOW__CORE__EXECUTOR", "AIRFLOW_HOME", "AIRFLOW_CONN_AWS_LOGS"]
    assert not set(names) & SECRET_ENV_NAMES
    assert all("valueFrom" not in e for e in container["env"])
    assert not [v for v in pod["spec"]["volumes"] if "secret" in v or "projected" in v]
    # No value the program writes into a Secret reaches the template or airflow.cfg (the ConfigMap).
    assert len(secrets) == 10, sorted(secrets)  # the roles Job's (Airflow's database password) too
    for where, text in config_map(rendered).items():
        leaked = [name for name, value in secrets.items() if value in text]
        assert not leaked, (where, leaked)


def test_the_chart_default_would_hand_them_out(rendered: Rendered) -> None:
    """What the test above guards against: without the program's template (and with the chart's
    secret variables on, its default), the chart's own gives the keys."""
    i = rendered.release.inputs
    values = {k: v for k, v in i["values"].items() if k not in ("podTemplate", "enableBuiltInSecretEnvVars")}
    objects = render(
        values, version=i["version"], release=i["name"], namespace=i["namespace"], kube_version=rendered.kube_version
    )
    (data,) = [o["data"] for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "airflow-config"]
    (container,) = yaml.safe_load(data["pod_template_file.yaml"])["spec"]["containers"]
    env = {e["name"] for e in container["env"]}
    assert {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY"} <= env
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert not mounts["dags"].get("readOnly")


def test_dags_read_only_logs_writable_config_mounted(rendered: Rendered) -> None:
    pod = rendered.pod_template()
    mounts = {m["name"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    cfg = rendered.airflow_cfg()
    assert mounts["dags"] == {"name": "dags", "mountPath": cfg["core.dags_folder"], "readOnly": True}
    assert volumes["dags"]["persistentVolumeClaim"] == {"claimName": "airflow-dags", "readOnly": True}
    # The task's supervisor writes its log there and uploads it to S3 itself (task-sdk 1.3.2).
    # `[logging] base_log_folder`: the chart sets none; airflow-core 3.3.2's default is {AIRFLOW_HOME}/logs.
    assert "logging.base_log_folder" not in cfg
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert mounts["logs"] == {"name": "logs", "mountPath": f"{env['AIRFLOW_HOME']}/logs"}
    assert volumes["logs"]["persistentVolumeClaim"] == {"claimName": "airflow-logs"}
    assert mounts["config"] == {
        "name": "config",
        "mountPath": "/opt/airflow/airflow.cfg",
        "subPath": "airflow.cfg",
        "readOnly": True,
    }
    assert volumes["config"] == {"name": "config", "configMap": {"name": "airflow-config"}}
    assert cfg["core.execution_api_server_url"] == "http://airflow-api-server.airflow:8080/execution/"
    assert set(mounts) == set(volumes) == {"dags", "logs", "config", "tmp"}


def test_placement_identity_and_labels(rendered: Rendered) -> None:
    pod = rendered.pod_template()
    workers = rendered.release.inputs["values"]["workers"]["kubernetes"]
    spec = pod["spec"]
    assert pod["metadata"]["labels"] == {"tier": "airflow", "component": "worker", "release": "airflow"}
    assert spec["serviceAccountName"] == rendered.plan.outputs["airflow_worker_service_account"] == "airflow-worker"
    assert spec["automountServiceAccountToken"] is False
    assert (spec["nodeSelector"], spec["tolerations"]) == (workers["nodeSelector"], workers["tolerations"])
    assert spec["nodeSelector"] == {"airflow-eks/node-group": "workers"}
    assert spec["containers"][0]["resources"] == workers["resources"]
    assert spec["securityContext"]["runAsUser"] == 50000
    assert spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["restartPolicy"] == "Never"
    assert pod["metadata"]["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    assert kubernetes_validate.validate(pod, rendered.kube_version, strict=True) == rendered.kube_version


def test_a_key_in_the_users_env_is_refused_and_braces_survive_tpl() -> None:
    values = {
        "defaultAirflowRepository": "apache/airflow",
        "defaultAirflowTag": "3.3.2",
        "dags": {"persistence": {"enabled": True, "existingClaim": "d"}},
        "logs": {"persistence": {"enabled": True, "existingClaim": "l"}},
        "env": [{"name": "AIRFLOW__CORE__FERNET_KEY", "value": "x"}],
    }
    with pytest.raises(ValueError, match="AIRFLOW__CORE__FERNET_KEY"):
        task_pod(values)
    values["env"] = [{"name": "JINJA", "value": "{{ ds }}"}]
    assert '{{ "{{" }} ds }}' in task_pod_template(values)


# --------------------------------------------------------------------------- rotation (item 4)


def rollout_annotations(r: Rendered) -> dict[str, str]:
    found = {}
    for name in ROLLED_DEPLOYMENTS:
        meta = r.one("Deployment", name)["spec"]["template"]["metadata"]
        found[name] = meta["annotations"][ROLLOUT_ANNOTATION]
    return found


def values_annotations(plan: Plan) -> dict[str, str]:
    """The annotation the release's values give each rolled Deployment's pods. The render carries it
    as it is (`test_every_control_plane_pod_carries_the_keyed_checksum`): a rotation is read here,
    without a render of its own."""
    values = airflow_release(plan).inputs["values"]
    sections = dict(zip(ROLLOUT_SECTIONS, ROLLED_DEPLOYMENTS, strict=True))
    return {name: values[section]["podAnnotations"][ROLLOUT_ANNOTATION] for section, name in sections.items()}


def rotated_plan(monkeypatch: pytest.MonkeyPatch, changed: str) -> Plan:
    """The prod plan, the mocked random value of the resource named `changed` rotated."""
    original = offline.fakes.fake_secret

    def fake(name: str) -> str:
        return original(name + "-rotated") if name.endswith(changed) else original(name)

    monkeypatch.setattr(offline.fakes, "fake_secret", fake)
    try:
        return run_program("prod")
    finally:
        monkeypatch.setattr(offline.fakes, "fake_secret", original)


def test_every_control_plane_pod_carries_the_keyed_checksum(rendered: Rendered, secrets: dict[str, str]) -> None:
    found = rollout_annotations(rendered)
    assert found == values_annotations(rendered.plan)
    (value,) = set(found.values())
    assert len(value) == 64 and set(value) <= set("0123456789abcdef")
    assert "[secret]" not in json.dumps(rendered.release.inputs["values"])
    rolled = {k: v for k, v in secrets.items() if k.split("/")[0] in {getattr(SECRET_NAMES, n) for n in ROLLED}}
    assert len(rolled) == 5
    # Keyed: not a plain hash of the secrets in any order the program could have used.
    canonical = json.dumps(dict(sorted(rolled.items())), sort_keys=True).encode()
    assert value != hashlib.sha256(canonical).hexdigest()
    assert value != config_checksum("", rolled)
    assert set(ROLLOUT_SECTIONS) == {"scheduler", "apiServer", "triggerer", "dagProcessor"}
    # The task pods hold none of the secrets: their template needs no checksum.
    assert ROLLOUT_ANNOTATION not in rendered.pod_template()["metadata"]["annotations"]


ROLLED = ("metadata", "fernet_key", "api_secret_key", "jwt_signing_key", "webserver_secret_key")


@pytest.mark.parametrize("resource", ["fernet-key", "api-secret-key", "jwt-signing-key", "webserver-secret-key"])
def test_a_rotated_key_rolls_every_control_plane_pod(
    rendered: Rendered, resource: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rollout_annotations(rendered)
    after = values_annotations(rotated_plan(monkeypatch, resource))
    assert all(after[name] != before[name] for name in ROLLED_DEPLOYMENTS), (before, after)
    assert len(set(after.values())) == 1


def test_a_rotated_database_password_rolls_them_and_nothing_else_does(rendered: Rendered) -> None:
    first = values_annotations(plan_once("prod", BROUGHT))
    rotated = values_annotations(plan_once("prod", {**BROUGHT, "dbAppPasswordGeneration": 1}))
    assert all(first[n] != rotated[n] for n in ROLLED_DEPLOYMENTS)
    # Unchanged secrets, changed settings elsewhere: the annotation stays.
    assert values_annotations(plan_once("prod", {"airflowParallelism": 450})) == rollout_annotations(rendered)
