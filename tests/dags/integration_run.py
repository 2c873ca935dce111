"""The DAG `make integration` runs through the rendered Airflow (scripts/airflow_run.py).

Each task shows one property; scripts/airflow_run.py triggers the DAG through the REST API and
asserts on each task instance (state, try number, times, XCom):
- `parallel_0..2`: three tasks the executor runs at once (their run times overlap);
- `flaky`: fails on its first try, succeeds on its retry (try number 2);
- `deferred`: a deferrable sensor (providers-standard's DateTimeSensorAsync), which waits on the triggerer;
- `reads_connection_and_variable`: reads a connection and a variable the run created through the
  REST API (stored Fernet-encrypted), through the task SDK, and returns what it read (XCom);
- `reads_secrets_manager`: reads a connection and a variable the run created only in Secrets
  Manager (moto) under the platform's prefixes: the task process asks the API server (execution
  API), which reads them through the configured SecretsManagerBackend;
- `reads_team_secrets`: a team's task, whose pod override loads the team's backend settings (as the
  team's ConfigMap gives them, lib/airflow/secrets_backend.py), reads a connection and a variable
  that exist only under the team's prefix: its own process reads Secrets Manager.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG, BaseHook, Variable, task

DAG_ID = "integration_run"
CONNECTION_ID = "integration_http"
VARIABLE_KEY = "integration_variable"
PARALLEL_TASKS = 3
PARALLEL_SECONDS = 8
DEFER_SECONDS = 5
SM_CONNECTION_ID = "integration_sm"
SM_VARIABLE_KEY = "integration_sm_variable"
TEAM_CONNECTION_ID = "integration_team"
TEAM_VARIABLE_KEY = "integration_team_variable"
TEAM_BACKEND_FILE = "integration_team_backend.json"
"""Beside this file, written by the run: the team's backend settings (name -> value), as the team's
ConfigMap gives them to its pods (`envFrom`); a pod override of env carries them here."""


def _team_pod_override() -> dict[str, Any]:
    import json
    from pathlib import Path

    from kubernetes.client import models as k8s

    settings = Path(__file__).with_name(TEAM_BACKEND_FILE)
    env = json.loads(settings.read_text()) if settings.exists() else {}
    container = k8s.V1Container(name="base", env=[k8s.V1EnvVar(name=k, value=v) for k, v in sorted(env.items())])
    return {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[container]))}


with DAG(DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, max_active_tasks=16) as dag:

    @task(task_id="parallel")
    def parallel(index: int) -> int:
        time.sleep(PARALLEL_SECONDS)  # long enough for the other two to start meanwhile
        return index

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def flaky(**context: Any) -> int:
        try_number: int = context["ti"].try_number
        if try_number == 1:
            raise RuntimeError("first try fails on purpose")
        return try_number

    # Its target is rendered when its pod starts, so it always waits (a TimeDeltaSensor counts from
    # the run's start, which may have passed by the time the task is scheduled).
    target = f"{{{{ (ti.start_date + macros.timedelta(seconds={DEFER_SECONDS})).isoformat() }}}}"
    deferred = DateTimeSensorAsync(task_id="deferred", target_time=target)

    @task
    def reads_connection_and_variable() -> dict[str, Any]:
        connection = BaseHook.get_connection(CONNECTION_ID)
        return {
            "connection": {"host": connection.host, "login": connection.login, "password": connection.password},
            "variable": Variable.get(VARIABLE_KEY),
        }

    @task
    def reads_secrets_manager() -> dict[str, Any]:
        connection = BaseHook.get_connection(SM_CONNECTION_ID)
        return {
            "connection": {"host": connection.host, "login": connection.login},
            "variable": Variable.get(SM_VARIABLE_KEY),
        }

    @task(executor_config=_team_pod_override())
    def reads_team_secrets() -> dict[str, Any]:
        connection = BaseHook.get_connection(TEAM_CONNECTION_ID)
        return {
            "connection": {"host": connection.host, "login": connection.login},
            "variable": Variable.get(TEAM_VARIABLE_KEY),
        }

    parallel.expand(index=list(range(PARALLEL_TASKS)))
    flaky()
    reads_connection_and_variable()
    reads_secrets_manager()
    reads_team_secrets()
    deferred  # noqa: B018  # listed so the DAG's four properties read together
