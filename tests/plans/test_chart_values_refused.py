"""A refused chart value stops the program before it registers anything (config/chart_values.py):
not Helm, once the cluster, the database and the file system exist."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components import airflow as airflow_component
from config.chart_values import PLACEHOLDER, ROLE, airflow_chart_inputs, airflow_chart_values
from config.errors import ConfigError
from lib.airflow import values
from lib.airflow.values import ChartInputs
from lib.cluster import helm_addons as addons
from lib.images import PULL_THROUGH_CACHE
from offline.mocks import Plan, ProgramError, run_program
from tests.support.settings import settings_of


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"airflowValues": {"scheduler": {"replica": 3}}}, "airflowValues.scheduler.replica"),  # the schema
        ({"airflowValues": {"scheduler": {"replicas": 3}}}, "airflowValues.scheduler.replicas"),  # owned
        ({"airflowValues": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}}, "airflowValues.volumes[0]"),
        ({"clusterAutoscalerValues": {"image": {"tag": "v1.30.0"}}}, "clusterAutoscalerValues.image"),
    ],
)
def test_a_refused_chart_value_registers_nothing(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program("dev", config_overrides=overrides)
    assert isinstance(failure.value.cause, ConfigError), failure.value.cause
    assert failure.value.cause.key == key
    assert failure.value.registrations == []


def shape(value: Any) -> Any:
    """`value` with every leaf replaced by its type: what the placeholders leave unchanged."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_loader_checks_the_values_the_components_give_helm(plans: dict[str, Plan], stack: str) -> None:
    """config/chart_values.py builds each release's values from the settings alone, placeholders
    standing for outputs: the same values, key for key, as the plan's releases (a drift fails here)."""
    plan, settings = plans[stack], settings_of(stack)
    releases = {r.inputs["chart"]: r.inputs["values"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert shape(airflow_chart_values(settings)) == shape(releases["airflow"])
    system = settings.node_group("system")
    lb = addons.load_balancer_controller_values(PLACEHOLDER, settings.region, PLACEHOLDER, system, {})
    ca = addons.cluster_autoscaler_values(PLACEHOLDER, settings.region, settings.cluster.kubernetes_version, system)
    for chart, computed in ((addons.LOAD_BALANCER_CONTROLLER, lb), (addons.CLUSTER_AUTOSCALER, ca)):
        assert shape(addons.release_values(chart, computed, ROLE, {})) == shape(releases[chart.chart]), chart.chart


# The inputs the loader cannot know before resources exist; every other input must be the component's.
STAND_INS = {"dags_claim", "logs_claim", "namespace", "worker_role_arn", "statsd", "remote_logs"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_loader_gives_airflow_values_the_components_inputs(monkeypatch: pytest.MonkeyPatch, stack: str) -> None:
    """Input for input, but for the stand-ins, config/chart_values.py builds the `ChartInputs` that
    components/airflow.py builds (a new input the loader leaves at its default fails here)."""
    given: list[ChartInputs] = []

    def recording(inputs: ChartInputs, *fragments: Any) -> dict[str, Any]:
        given.append(inputs)
        return values.airflow_values(inputs, *fragments)

    overrides = {"airflowFailedPodRetentionHours": 72, "airflowParallelism": 20}
    monkeypatch.setattr(airflow_component, "airflow_values", recording)
    run_program(stack, config_overrides=overrides)
    (component,) = given
    loader = airflow_chart_inputs(settings_of(stack, **overrides))
    fields = {f.name for f in dataclasses.fields(ChartInputs)} - STAND_INS
    if settings_of(stack).pull_through_cache_credential_arn:  # prod: the cache's registry host is an output
        fields -= {"image_mirrors"}
        assert set(component.image_mirrors) == set(PULL_THROUGH_CACHE)
    assert {f: getattr(loader, f) for f in fields} == {f: getattr(component, f) for f in fields}
