"""A refused chart value stops the program before it registers anything (config/chart_values.py):
not Helm, once the cluster, the database and the file system exist."""

from __future__ import annotations

from typing import Any

import pytest

from config.errors import ConfigError
from offline.mocks import ProgramError, run_program


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
