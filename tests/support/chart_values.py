"""The Airflow chart's values schema, and the chart sections the tests walk."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in requirements-dev.txt

from offline.chart import values_schema

CHART_VERSION = "1.22.0"
CONTROL_PLANE = ("scheduler", "apiServer", "triggerer", "dagProcessor", "pgbouncer")
JOBS = ("migrateDatabaseJob", "createUserJob")


@cache
def chart_schema() -> dict[str, Any]:
    """The chart's own values.schema.json (a missing chart fails with what to provide)."""
    return values_schema(CHART_VERSION)


def schema_errors(values: dict[str, Any]) -> list[str]:
    """Everything the chart would refuse, plus top-level keys it would silently ignore."""
    schema = chart_schema()
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(values)
    ]
    errors += [f"{key}: not a top-level value of the chart" for key in sorted(set(values) - set(schema["properties"]))]
    return errors
