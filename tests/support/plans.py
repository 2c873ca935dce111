"""Readers of an offline plan that several test modules use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import mocks as pulumi_mocks

from offline.fakes import FakeCloud
from offline.mocks import Plan, run_program
from offline.stack_config import CONFIG_DIR
from tests.support.session_cache import once

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    """Alarm inputs by spec name (`airflow-prod-alarms-db-cpu` -> `db-cpu`)."""
    prefix = f"airflow-{plan.stack}-alarms-"
    return {r.name.removeprefix(prefix): r.inputs for r in plan.of_type(ALARM)}


def cost_report(plan: Plan, stack: str) -> dict[str, Any]:
    from scripts.cost import report

    return report(stack, json.loads(json.dumps(plan.as_json())), "us-east-1", 8)


SECRET_TYPE = "kubernetes:core/v1:Secret"


SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # the engine's marker of a secret value


def unwrap(value: Any) -> Any:
    """A value as the engine sends it to the cloud, without its secret marker."""
    if isinstance(value, dict) and SECRET_SIGNATURE in value:
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


def run_recording_secrets(
    stack: str,
    running_class: str | None = None,
    overrides: dict[str, Any] | None = None,
    config_dir: Path = CONFIG_DIR,
) -> tuple[Plan, dict[str, dict[str, str]]]:
    """The plan (of the stack in `config_dir` with `overrides`), and each Secret's data as the cloud
    receives it (the plan shows it redacted). With `running_class`, the database reports that class
    running (a change still pending)."""
    seen: dict[str, dict[str, str]] = {}
    original = FakeCloud.new_resource

    def spy(self: FakeCloud, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == SECRET_TYPE:
            seen[args.inputs["metadata"]["name"]] = unwrap(args.inputs["stringData"])
        rid, out = original(self, args)
        if args.typ == "aws:rds/instance:Instance" and running_class:
            out["instanceClass"] = running_class
        return rid, out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeCloud, "new_resource", spy)
        plan = run_program(stack, overrides, config_dir=config_dir)
    return plan, seen


def recorded_once(
    stack: str, overrides: dict[str, Any] | None = None, config_dir: Path = CONFIG_DIR
) -> tuple[Plan, dict[str, dict[str, str]]]:
    """`run_recording_secrets(stack, overrides=overrides, config_dir=config_dir)`, run once per test
    session for the same arguments and shared by its workers: the program is deterministic, and a
    dozen modules plan the same configurations. Each call returns its own copy. A test that checks
    that determinism, or that runs the program under a patch, runs it itself (`run_program`)."""
    key: list[Any] = ["plan", stack, overrides or {}]
    if config_dir != CONFIG_DIR:  # the example stacks (examples/stacks)
        key.append(str(config_dir.resolve()))
    return once(key, lambda: run_recording_secrets(stack, overrides=overrides, config_dir=config_dir))


def plan_once(stack: str, overrides: dict[str, Any] | None = None, config_dir: Path = CONFIG_DIR) -> Plan:
    """The plan of `recorded_once`."""
    return recorded_once(stack, overrides, config_dir)[0]
