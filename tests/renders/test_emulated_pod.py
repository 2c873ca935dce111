"""The emulated kubelet of `make integration`'s Airflow run (scripts/emulated_pod.py, scripts/airflow_run.py):
Kubernetes' rules for a container's environment and files, the one substitution, and the real prod
render resolved against the Secrets the program creates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import airflow_run
from scripts.airflow_render import render_release
from scripts.emulated_pod import EMULATED_CA, EMULATED_TOKEN, Cluster, Local, PodError, materialise, resolve, substitute

ROOT = Path("/pods/p")
LOCAL = Local(
    services={"airflow-api-server.airflow:8080": 41000, "airflow-pgbouncer.airflow:6543": 42000},
    external_hosts=["cloudwatch-agent.amazon-cloudwatch.svc.cluster.local"],
    python_bin=Path("/venv/bin"),
    aws_endpoint="http://127.0.0.1:43000",
)


def pod(container: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec = {"containers": [{"name": "base", **container}], "volumes": volumes or [], "serviceAccountName": "sa"}
    return {"metadata": {"name": "p"}, "spec": spec}


def cluster(claims: dict[str, Path] | None = None) -> Cluster:
    return Cluster(
        namespace="airflow",
        secrets={"s": {"k": "secret-value", "file": "secret-file"}},
        config_maps={"c": {"airflow.cfg": "dags_folder = /opt/airflow/dags\n", "other": "x"}},
        claims=claims or {"airflow-dags": Path("/claims/dags")},
    )


def test_env_resolves_refs_and_expands_references_as_kubernetes_does() -> None:
    c = resolve(
        pod(
            {
                "envFrom": [{"configMapRef": {"name": "c"}, "prefix": "CM_"}],
                "env": [
                    {"name": "A", "value": "a"},
                    {"name": "B", "value": "$(A)-$(LATER)-$$(A)-$(CM_other)"},
                    {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                    {"name": "O", "valueFrom": {"secretKeyRef": {"name": "s", "key": "none", "optional": True}}},
                    {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "LATER", "value": "late"},
                ],
                "command": ["echo"],
                "args": ["$(B)", "$(LATER)", "$(UNDEFINED)"],
            }
        ),
        "base",
        cluster(),
    )
    assert c.env == {
        "CM_airflow.cfg": "dags_folder = /opt/airflow/dags\n",
        "CM_other": "x",
        "A": "a",
        "B": "a-$(LATER)-$(A)-x",  # only variables defined before; $$ escapes
        "S": "secret-value",
        "N": "airflow",
        "LATER": "late",
    }
    assert c.argv == ["echo", "a-$(LATER)-$(A)-x", "late", "$(UNDEFINED)"]


def test_a_missing_secret_key_is_an_error() -> None:
    broken = pod({"env": [{"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "absent"}}}]})
    with pytest.raises(PodError, match="'s' has no key 'absent'"):
        resolve(broken, "base", cluster())


def test_volumes_become_files_and_directories() -> None:
    volumes = [
        {"name": "config", "configMap": {"name": "c"}},
        {"name": "secret", "secret": {"secretName": "s", "items": [{"key": "file", "path": "f.txt"}]}},
        {"name": "dags", "persistentVolumeClaim": {"claimName": "airflow-dags"}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts = [
        {"name": "config", "mountPath": "/opt/airflow/airflow.cfg", "subPath": "airflow.cfg", "readOnly": True},
        {"name": "secret", "mountPath": "/etc/s"},
        {"name": "dags", "mountPath": "/opt/airflow/dags", "readOnly": True, "subPath": "team"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    c = resolve(pod({"volumeMounts": mounts}, volumes), "base", cluster())
    assert c.files == {
        "/opt/airflow/airflow.cfg": ("dags_folder = /opt/airflow/dags\n", True),
        "/etc/s/f.txt": ("secret-file", True),
    }
    assert c.directories == {"/opt/airflow/dags": ("claim:airflow-dags/team", True), "/tmp": ("empty", False)}


def test_a_projected_service_account_volume_becomes_its_sources_files() -> None:
    """The chart's token volume (_helpers.yaml `serviceAccountTokenVolume`): the token, the
    namespace's root CA (published in every namespace, not rendered) and the pod's namespace."""
    sources = [
        {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {
            "downwardAPI": {
                "items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]
            }
        },
    ]
    volumes = [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": sources}}]
    mounts = [
        {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}
    ]
    c = resolve(pod({"volumeMounts": mounts}, volumes), "base", cluster())
    where = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert c.files == {
        f"{where}/token": (EMULATED_TOKEN, True),
        f"{where}/ca.crt": (EMULATED_CA, True),
        f"{where}/namespace": ("airflow", True),
    }
    missing = [{"configMap": {"name": "absent", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]
    with pytest.raises(PodError, match="configMap 'absent' does not exist"):
        resolve(
            pod({"volumeMounts": mounts}, [{"name": "kube-api-access", "projected": {"sources": missing}}]),
            "base",
            cluster(),
        )


def test_substitute_changes_paths_services_and_adds_the_environment_it_documents() -> None:
    template = "apiVersion: v1\nkind: Pod\nspec:\n  volumes: /opt/airflow/dags\n"
    c = resolve(
        pod(
            {
                "env": [
                    {"name": "AIRFLOW_HOME", "value": "/opt/airflow"},
                    {"name": "CONN", "value": "postgresql://u:p@airflow-pgbouncer.airflow:6543/airflow-metadata"},
                ],
                "args": ["bash", "-c", "exec airflow triggerer"],
                "volumeMounts": [
                    {"name": "config", "mountPath": "/opt/airflow/airflow.cfg", "subPath": "airflow.cfg"},
                    {"name": "config", "mountPath": "/opt/airflow/pod_templates/t.yaml", "subPath": "t.yaml"},
                ],
            },
            [{"name": "config", "configMap": {"name": "c"}}],
        ),
        "base",
        Cluster(
            "airflow",
            {},
            {
                "c": {
                    "airflow.cfg": "execution_api_server_url = http://airflow-api-server.airflow:8080/execution/\n"
                    "statsd_host = cloudwatch-agent.amazon-cloudwatch.svc.cluster.local\n"
                    "dags_folder = /opt/airflow/dags\n",
                    "t.yaml": template,
                }
            },
            {},
        ),
    )
    local = substitute(c, ROOT, LOCAL)
    assert local.env == {
        "AIRFLOW_HOME": "/pods/p/opt/airflow",
        "CONN": "postgresql://u:p@127.0.0.1:42000/airflow-metadata",
        "PATH": "/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/pods/p/home/airflow",
        "TMPDIR": "/pods/p/tmp",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:43000",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    assert local.argv == ["bash", "-c", "exec airflow triggerer --skip-serve-logs"]
    assert local.files == {
        "/opt/airflow/airflow.cfg": (
            "execution_api_server_url = http://127.0.0.1:41000/execution/\n"
            "statsd_host = 127.0.0.1\n"
            "dags_folder = /pods/p/opt/airflow/dags\n",
            True,
        ),
        "/opt/airflow/pod_templates/t.yaml": (template, True),  # another pod's manifest: left as rendered
    }
    assert local.working_dir == "/pods/p/opt/airflow"


def test_materialise_writes_files_unwritable_and_links_claims(tmp_path: Path) -> None:
    claims = {"airflow-dags": tmp_path / "claims" / "dags"}
    c = resolve(
        pod(
            {
                "volumeMounts": [
                    {"name": "config", "mountPath": "/opt/airflow/airflow.cfg", "subPath": "airflow.cfg"},
                    {"name": "dags", "mountPath": "/opt/airflow/dags"},
                ]
            },
            [
                {"name": "config", "configMap": {"name": "c"}},
                {"name": "dags", "persistentVolumeClaim": {"claimName": "airflow-dags"}},
            ],
        ),
        "base",
        cluster(claims),
    )
    root = tmp_path / "pod"
    work = materialise(substitute(c, root, LOCAL), root, cluster(claims))
    assert work == root / "opt" / "airflow"
    cfg = root / "opt" / "airflow" / "airflow.cfg"
    assert cfg.read_text() == f"dags_folder = {root}/opt/airflow/dags\n"
    assert cfg.stat().st_mode & 0o222 == 0
    assert (root / "opt" / "airflow" / "dags").resolve() == claims["airflow-dags"].resolve()


@pytest.fixture(scope="module")
def prod_render() -> airflow_run.Render:
    data = render_release({})
    return airflow_run.Render(data["objects"], data["secrets"], data["outputs"], data["release"]["namespace"])


def test_every_airflow_pod_of_the_prod_render_resolves_against_the_programs_secrets(
    prod_render: airflow_run.Render,
) -> None:
    c = Cluster("airflow", prod_render.secrets, prod_render.config_maps(), {"airflow-dags": ROOT, "airflow-logs": ROOT})
    resolved = 0
    pods = [prod_render.pod("Deployment", n) for n in airflow_run.COMPONENTS]
    pods += [prod_render.pod("Job", n) for n in airflow_run.JOBS]
    template = yaml.safe_load(prod_render.config_maps()["airflow-config"]["pod_template_file.yaml"])
    pods.append(template)
    for p in pods:
        for container in [*(p["spec"].get("initContainers") or []), *p["spec"]["containers"]]:
            env = resolve(p, container["name"], c).env
            assert all(value for value in env.values()), (p["metadata"]["name"], container["name"])
            resolved += 1
    assert resolved == 12  # 4 Deployments (an init and a main container each), the log groomer, 2 Jobs, the task pod


def test_the_scheduler_config_differs_from_the_render_in_the_executor_only(prod_render: airflow_run.Render) -> None:
    rendered = prod_render.config_maps()
    changed = airflow_run.scheduler_config(rendered)
    before = rendered["airflow-config"]["airflow.cfg"].splitlines()
    after = changed["airflow-config"]["airflow.cfg"].splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ("executor = KubernetesExecutor", "executor = emulated_executor.EmulatedKubernetesExecutor")
    ]
    assert {k: v for k, v in changed.items() if k != "airflow-config"} == {
        k: v for k, v in rendered.items() if k != "airflow-config"
    }


def test_drop_setting_removes_one_rendered_line(prod_render: airflow_run.Render) -> None:
    dropped = airflow_run.without_settings(prod_render, ["logging.remote_logging"])
    assert "logging.remote_logging" not in dropped.airflow_cfg()
    assert set(prod_render.airflow_cfg()) - set(dropped.airflow_cfg()) == {"logging.remote_logging"}
    with pytest.raises(SystemExit, match=r"not in the rendered airflow\.cfg"):
        airflow_run.without_settings(prod_render, ["logging.no_such_key"])
