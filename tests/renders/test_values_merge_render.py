"""The user's `airflowValues` lists add to the program's, as the real chart renders them (lib/merge.py):
with remote logs on (prod), the logs connection the program sets and the user's own variables,
volumes and tolerations are all in the rendered Deployments and the task pods' template."""

from __future__ import annotations

from typing import Any

import pytest

from lib.airflow.hardening import TMP_MOUNT, TMP_VOLUME
from lib.airflow.telemetry import LOGS_CONNECTION_ID
from lib.database.pgbouncer.tls import CA_VOLUME
from offline.mocks import Plan
from tests.support.plans import plan_once
from tests.support.renders import Rendered

LOGS_ENV = f"AIRFLOW_CONN_{LOGS_CONNECTION_ID.upper()}"
SCRATCH = {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}
SCRATCH_MOUNT = {"name": "scratch", "mountPath": "/scratch"}
GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
USER_VALUES = {
    "env": [{"name": "TEAM", "value": "data"}],
    "volumes": [SCRATCH],
    "volumeMounts": [SCRATCH_MOUNT],
    "apiServer": {"env": [{"name": "API_TEAM", "value": "api"}]},
    "triggerer": {"env": [{"name": "TRIGGER_TEAM", "value": "t"}]},
    "workers": {"kubernetes": {"env": [{"name": "TASK_TEAM", "value": "task"}], "tolerations": [GPU]}},
    "pgbouncer": {"extraVolumes": [SCRATCH], "extraVolumeMounts": [SCRATCH_MOUNT]},
}


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    plan: Plan = plan_once("prod", {"airflowValues": USER_VALUES})
    return Rendered(plan)


def names(entries: list[dict[str, Any]] | None) -> list[str]:
    return [e["name"] for e in entries or []]


def test_the_task_pods_hold_the_programs_and_the_users_entries(rendered: Rendered) -> None:
    pod = rendered.pod_template()
    (base,) = pod["spec"]["containers"]
    assert names(base["env"]) == ["AIRFLOW__CORE__EXECUTOR", "AIRFLOW_HOME", "TEAM", LOGS_ENV, "TASK_TEAM"]
    assert [t["key"] for t in pod["spec"]["tolerations"]] == ["airflow.apache.org/workers", GPU["key"]]
    assert TMP_VOLUME in pod["spec"]["volumes"] and SCRATCH in pod["spec"]["volumes"]
    assert TMP_MOUNT in base["volumeMounts"] and SCRATCH_MOUNT in base["volumeMounts"]


@pytest.mark.parametrize(
    ("deployment", "own"), [("airflow-api-server", "API_TEAM"), ("airflow-triggerer", "TRIGGER_TEAM")]
)
def test_the_deployments_hold_the_programs_and_the_users_entries(rendered: Rendered, deployment: str, own: str) -> None:
    pod = rendered.deployment_pod(deployment)
    container = next(c for c in pod["containers"] if c["name"] == deployment.removeprefix("airflow-"))
    env = names(container["env"])
    assert {LOGS_ENV, "TEAM", own} <= set(env), env
    assert env.index(LOGS_ENV) < env.index(own)  # the program's first, the user's added after
    assert TMP_VOLUME in pod["volumes"] and SCRATCH in pod["volumes"]
    assert TMP_MOUNT in container["volumeMounts"] and SCRATCH_MOUNT in container["volumeMounts"]


def test_pgbouncer_keeps_its_ca_bundle_beside_the_users_volume(rendered: Rendered) -> None:
    pod = rendered.deployment_pod("airflow-pgbouncer")
    assert {CA_VOLUME, "scratch"} <= set(names(pod["volumes"]))
    (pgbouncer,) = [c for c in pod["containers"] if c["name"] == "pgbouncer"]
    assert {CA_VOLUME, "scratch"} <= set(names(pgbouncer["volumeMounts"]))
