"""The DAG `make integration` runs through the rendered Airflow (scripts/airflow_run.py).

Each task shows one property; scripts/airflow_run.py triggers the DAG through the REST API and
asserts on each task instance (state, try number, times, XCom):
- `parallel_0..2`: three tasks the executor runs at once (their run times overlap);
- `flaky`: fails on its first try, succeeds on its retry (try number 2);
- `deferred`: a deferrable sensor (providers-standard's DateTimeSensorAsync), which waits on the triggerer;
- `reads_connection_and_variable`: reads a connection and a variable the run created through the
  REST API (stored Fernet-encrypted), through the task SDK, and returns what it read (XCom).
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

    parallel.expand(index=list(range(PARALLEL_TASKS)))
    flaky()
    reads_connection_and_variable()
    deferred  # noqa: B018  # listed so the DAG's four properties read together
