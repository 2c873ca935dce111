"""Airflow's secrets reach its containers as mounted files, on the real render of the chart
(lib/airflow/secret_files.py); `make integration` runs the Airflow processes with them."""

from __future__ import annotations

from typing import Any

import pytest

from lib.airflow.secret_files import (
    ADMIN_PASSWORD_FILE,
    CONFIG_FILES,
    DIRECTORY,
    FILE_MODE,
    VOLUME,
    admin_password_path,
)
from lib.airflow.secrets import ADMIN_PASSWORD_KEY, SECRET_KEYS, SECRET_NAMES
from offline.mocks import Plan
from tests.support.plans import recorded_once
from tests.support.renders import Rendered, containers

AIRFLOW_DEPLOYMENTS = ("airflow-api-server", "airflow-scheduler", "airflow-triggerer", "airflow-dag-processor")
AIRFLOW_JOBS = ("airflow-run-airflow-migrations", "airflow-create-user")
CMD_ENV = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "cat /opt/airflow/secrets/metadata",
    "AIRFLOW__CORE__FERNET_KEY_CMD": "cat /opt/airflow/secrets/fernet_key",
    "AIRFLOW__API__SECRET_KEY_CMD": "cat /opt/airflow/secrets/api_secret_key",
}
FILES = {
    "metadata": (SECRET_NAMES.metadata, "connection"),
    "fernet_key": (SECRET_NAMES.fernet_key, "fernet-key"),
    "api_secret_key": (SECRET_NAMES.api_secret_key, "api-secret-key"),
}


@pytest.fixture(scope="module")
def rendered(prod: Plan) -> Rendered:
    return Rendered(prod)


def secret_variables(spec: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for c in containers(spec):
        found += [(c["name"], e["name"]) for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})]
        found += [(c["name"], "envFrom") for e in c.get("envFrom") or [] if "secretRef" in e]
    return found


def files(spec: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    """The secrets volume's files: path -> (Secret, key)."""
    (volume,) = [v for v in spec["volumes"] if v["name"] == VOLUME]
    assert volume["projected"]["defaultMode"] == FILE_MODE == 0o440
    return {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


def test_only_the_pgbouncer_exporter_holds_a_secret_variable(rendered: Rendered) -> None:
    held = {name: secret_variables(spec) for name, spec in rendered.workload_pods().items()}
    assert {name: found for name, found in held.items() if found} == {
        "airflow-pgbouncer": [("metrics-exporter", "DATABASE_URL")]
    }
    assert "airflow-cleanup" in held and "airflow-db-admin" not in held  # the roles Job is the program's


def test_every_airflow_container_reads_the_options_from_its_pods_files(rendered: Rendered) -> None:
    specs = rendered.workload_pods()
    for name in (*AIRFLOW_DEPLOYMENTS, *AIRFLOW_JOBS):
        spec = specs[name]
        expected: dict[str, tuple[str | None, str]] = dict(FILES)
        if name == "airflow-create-user":
            expected[ADMIN_PASSWORD_FILE] = (SECRET_NAMES.admin_password, ADMIN_PASSWORD_KEY)
        assert files(spec) == expected, name
        airflow = [c for c in containers(spec) if not c["name"].endswith("-log-groomer")]
        assert len(airflow) == (2 if name in AIRFLOW_DEPLOYMENTS else 1), name  # wait-for-airflow-migrations first
        for c in airflow:
            env = {e["name"]: e.get("value") for e in c.get("env") or []}
            assert {k: env.get(k) for k in CMD_ENV} == CMD_ENV, (name, c["name"])
            mounts = [m for m in c["volumeMounts"] if m["name"] == VOLUME]
            assert mounts == [{"name": VOLUME, "mountPath": DIRECTORY, "readOnly": True}], (name, c["name"])


def test_the_cleanup_gets_no_secret_and_the_groomer_only_the_charts_mounts(rendered: Rendered) -> None:
    """The cleanup runs the program's script, no Airflow code. The scheduler's groomer runs the image's
    /clean-logs, and chart 1.22 mounts the section's `extraVolumeMounts` in it too
    (scheduler-deployment.yaml), as it did the JWT key before: the files, never a variable."""
    specs = rendered.workload_pods()
    (groomer,) = [c for c in specs["airflow-scheduler"]["containers"] if c["name"].endswith("-log-groomer")]
    assert [m["name"] for m in groomer["volumeMounts"]] == ["logs", "tmp", "jwt-signing-key", VOLUME]
    assert not any(e["name"].endswith("_CMD") for e in groomer.get("env") or [])
    cleanup = specs["airflow-cleanup"]
    assert not any(v["name"] == VOLUME for v in cleanup.get("volumes") or [])
    assert not any(e["name"].startswith("AIRFLOW__") for c in containers(cleanup) for e in c.get("env") or [])


def test_the_admin_password_is_read_from_its_file_by_the_create_user_job_alone(rendered: Rendered) -> None:
    specs = rendered.workload_pods()
    (job,) = specs["airflow-create-user"]["containers"]
    assert f'--password "$(cat {admin_password_path()})"' in job["args"][2]
    holders = [n for n, s in specs.items() if any(v["name"] == VOLUME for v in s.get("volumes") or [])]
    assert sorted(holders) == sorted((*AIRFLOW_DEPLOYMENTS, *AIRFLOW_JOBS))
    assert [n for n in holders if ADMIN_PASSWORD_FILE in files(specs[n])] == ["airflow-create-user"]


def test_the_files_hold_the_values_as_airflow_takes_them() -> None:
    """Airflow uses a `_CMD`'s output unstripped: a trailing newline would end up in the connection."""
    _, seen = recorded_once("dev")
    for field in CONFIG_FILES.values():
        value = seen[getattr(SECRET_NAMES, field)][SECRET_KEYS[field]]
        assert value and value == value.strip(), field
