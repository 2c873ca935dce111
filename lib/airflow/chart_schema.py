"""The Airflow chart's values schema, committed with its digest (lib/airflow/schemas/README.md),
and the first place where a release's values break it, said so that a user can act on it."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in requirements.txt

from lib.merge import ValuesError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMAS = {"1.22.0": "12eb9c2e90674b0f6a180eef5b87817ae3af83b38e2a1e60e9a1ed6b167de36a"}
"""Chart version -> sha256 of its `values.schema.json` in `SCHEMA_DIR` (values-<version>.schema.json)."""
SHOWN_KEYS = 12  # accepted keys listed in a message
SHOWN_CHARS = 80  # of a refused value


def schema_version(chart_version: str) -> str | None:
    """The committed schema for `chart_version`: its own, else one of the same minor (a patch
    release keeps its values), else None."""
    if chart_version in SCHEMAS:
        return chart_version
    minor = chart_version.rsplit(".", 1)[0]
    return next((v for v in sorted(SCHEMAS, reverse=True) if v.rsplit(".", 1)[0] == minor), None)


@cache
def _validator(version: str) -> Any:
    text = (SCHEMA_DIR / f"values-{version}.schema.json").read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    if digest != SCHEMAS[version]:
        raise RuntimeError(f"{SCHEMA_DIR}/values-{version}.schema.json has sha256 {digest}, not {SCHEMAS[version]}")
    return jsonschema.Draft7Validator(json.loads(text))


def _accepts(schema: Mapping[str, Any]) -> str:
    """What a schema node accepts, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    options = [s for key in ("anyOf", "oneOf") for s in schema.get(key, [])]
    kinds += [k for s in options for k in ([s["type"]] if isinstance(s.get("type"), str) else s.get("type", []))]
    text = " or ".join(dict.fromkeys(kinds)) or "a value the schema describes"
    if "pattern" in schema:
        text += f" matching {schema['pattern']}"
    for bound in ("minimum", "maximum"):
        if bound in schema:
            text += f", {bound} {schema[bound]}"
    if kinds == ["object"] and "properties" in schema:
        text += " of " + ", ".join(schema["properties"])
    description = schema.get("description")
    return f"{text} ({description.rstrip('.')})" if description else text


def _unexpected(error: Any) -> ValuesError:
    accepted = sorted((error.schema.get("properties") or {}).keys())
    extra = sorted(set(error.instance) - set(accepted))
    path = (*map(_part, error.absolute_path), extra[0])
    nearest = difflib.get_close_matches(extra[0], accepted, n=1)
    hint = f"did you mean `{nearest[0]}`? " if nearest else ""
    shown = ", ".join(accepted[:SHOWN_KEYS]) + (", ..." if len(accepted) > SHOWN_KEYS else "")
    where = ".".join(map(str, error.absolute_path)) or "the top level"
    return ValuesError(path, f"is not a value of the chart at {where}: {hint}accepted: {shown}")


def _part(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


def values_problem(values: Mapping[str, Any], chart_version: str) -> ValuesError | None:
    """The first place where `values` break the chart's schema (the most specific error,
    jsonschema's `best_match`), as a `ValuesError` at its path saying what is accepted there; None
    when they meet it. `chart_version` must have a schema (`schema_version`).

    Values that are JSON (as every release's are) are checked once per text and version: a test
    session checks the same values hundreds of times, 7 ms each."""
    try:
        text = json.dumps(values)
    except (TypeError, ValueError):
        text = None
    if text is None or json.loads(text) != values:  # not JSON as they are (a tuple): checked as they are
        return _problem(values, chart_version)
    found = _problem_of_text(text, chart_version)
    return None if found is None else ValuesError(*found)


@lru_cache(maxsize=64)
def _problem_of_text(text: str, chart_version: str) -> tuple[tuple[str, ...], str] | None:
    problem = _problem(json.loads(text), chart_version)
    return None if problem is None else (tuple(problem.path), str(problem))


def _problem(values: Mapping[str, Any], chart_version: str) -> ValuesError | None:
    version = schema_version(chart_version)
    if version is None:
        raise ValueError(f"no values schema for chart {chart_version}; schemas: {', '.join(SCHEMAS)}")
    validator = _validator(version)
    # The chart's schema allows any top-level key; Helm would ignore a misspelt one.
    top = validator.schema["properties"]
    unknown = [key for key in values if key not in top]
    if unknown:
        nearest = difflib.get_close_matches(unknown[0], list(top), n=1)
        hint = f": did you mean `{nearest[0]}`?" if nearest else " (chart values.yaml lists them)"
        return ValuesError((unknown[0],), f"is not a value of chart {version}{hint}")
    error = jsonschema.exceptions.best_match(validator.iter_errors(values))
    if error is None:
        return None
    if error.validator == "additionalProperties":
        return _unexpected(error)
    path = tuple(map(_part, error.absolute_path))
    if error.validator == "required":
        return ValuesError(path, f"{error.message} (chart {version}: {_accepts(error.schema)})")
    shown = json.dumps(error.instance)
    shown = shown if len(shown) <= SHOWN_CHARS else f"{shown[: SHOWN_CHARS - 3]}..."
    return ValuesError(path, f"{shown} is refused by chart {version}: accepted: {_accepts(error.schema)}")
