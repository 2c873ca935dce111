"""Airflow's own secrets as read-only files, never environment variables.

Chart 1.22.0 hands every Airflow container the metadata connection, the Fernet key and the API
secret key as `secretKeyRef` variables (templates/_helpers.yaml `standard_airflow_environment`), the
failed-pod cleanup's too, which runs no Airflow code (lib/airflow/pod_cleanup.py). A variable is
inherited by every process the container starts (a DAG processor's parsing subprocesses, a
`bash -c` of a probe) and shown by anything that prints the environment. Instead:

- the chart's variables are off (`enableBuiltInSecretEnvVars`), `AIRFLOW_CONN_AIRFLOW_DB` too
  (the metadata database as a connection: no task reaches the database in Airflow 3, and no
  component of the platform reads it);
- the sections that run Airflow mount one projected volume, read-only, holding each Secret's key
  as a file (`CONFIG_FILES`), and the create-user Job the admin password as well;
- each option is `AIRFLOW__<SECTION>__<KEY>_CMD`, a `cat` of its file: Airflow runs a `_CMD` for
  the options its config marks sensitive, these three among them (apache-airflow-core 3.3.2
  configuration.py `_get_env_var_option`, `sensitive_config_values`), both in the main container
  and in the wait-for-migrations init container (`waitForMigrations.env`).

Chart 1.22 mounts a section's `extraVolumeMounts` in its log groomer sidecar too
(scheduler-deployment.yaml): the scheduler's groomer, which runs the image's /clean-logs, sees the
files (and the JWT key) but is given no variable naming them. PgBouncer's metrics exporter keeps its
connection as a variable: chart 1.22 gives it no other way
(pgbouncer-deployment.yaml, `DATABASE_URL`). `make integration` runs the rendered pods' Airflow
processes with these files (scripts/airflow_run.py).
"""

from __future__ import annotations

from typing import Any

from lib.airflow.secrets import ADMIN_PASSWORD_KEY, SECRET_KEYS, SecretNames
from lib.merge import owned

DIRECTORY = "/opt/airflow/secrets"
VOLUME = "airflow-secrets"
FILE_MODE = 0o440
"""Owner and group read: the pods run as uid 50000 with fsGroup 0, the group of the mounted files."""
CONFIG_FILES = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "metadata",
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
    "AIRFLOW__API__SECRET_KEY": "api_secret_key",
}
"""Each option the chart would set as a variable -> the Secret (a `SecretNames` field) whose key is
its file, named after the field."""
DROPPED_VARIABLES = ("AIRFLOW_CONN_AIRFLOW_DB",)
ADMIN_PASSWORD_FILE = "admin_password"
READER_SECTIONS = ("apiServer", "scheduler", "triggerer", "dagProcessor", "migrateDatabaseJob", "createUserJob")
"""The chart sections whose pods run Airflow and read the three options."""
WAITING_SECTIONS = ("apiServer", "scheduler", "triggerer", "dagProcessor")
"""Their pods' `wait-for-airflow-migrations` init container runs `airflow db check-migrations`."""
FILES_VIA = "Airflow reads its secrets from mounted files (lib/airflow/secret_files.py), not the chart's variables"


def file_path(name: str) -> str:
    return f"{DIRECTORY}/{name}"


def admin_password_path() -> str:
    return file_path(ADMIN_PASSWORD_FILE)


def command_variables() -> list[dict[str, str]]:
    """`<option>_CMD` for each option: `cat` of its file. Airflow takes the output as it is
    (3.3.2 `run_command` strips nothing): the Secrets hold no trailing newline."""
    return [{"name": f"{var}_CMD", "value": f"cat {file_path(field)}"} for var, field in CONFIG_FILES.items()]


def _volume(names: SecretNames, admin_password: bool) -> dict[str, Any]:
    sources = [
        {"secret": {"name": getattr(names, field), "items": [{"key": SECRET_KEYS[field], "path": field}]}}
        for field in CONFIG_FILES.values()
    ]
    if admin_password and names.admin_password:
        item = {"key": ADMIN_PASSWORD_KEY, "path": ADMIN_PASSWORD_FILE}
        sources.append({"secret": {"name": names.admin_password, "items": [item]}})
    return {"name": VOLUME, "projected": {"sources": sources, "defaultMode": FILE_MODE}}


def secret_file_values(names: SecretNames) -> dict[str, Any]:
    """Helm values: the chart's secret variables off, the files mounted and named by `_CMD` variables
    on the sections that run Airflow (their init containers included)."""
    env = command_variables()
    mount = {"name": VOLUME, "mountPath": DIRECTORY, "readOnly": True}
    values: dict[str, Any] = {
        "enableBuiltInSecretEnvVars": {var: owned(False, FILES_VIA) for var in (*CONFIG_FILES, *DROPPED_VARIABLES)}
    }
    for section in READER_SECTIONS:
        values[section] = {
            "extraVolumes": [_volume(names, admin_password=section == "createUserJob")],
            "extraVolumeMounts": [mount],
            "env": env,
            **({"waitForMigrations": {"env": env}} if section in WAITING_SECTIONS else {}),
        }
    return values
