"""Shared fixtures: each stack's offline plan, run once per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.mocks import Plan, run_program  # noqa: E402


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return {stack: run_program(stack) for stack in ("dev", "prod")}


@pytest.fixture(scope="session")
def dev(plans: dict[str, Plan]) -> Plan:
    return plans["dev"]


@pytest.fixture(scope="session")
def prod(plans: dict[str, Plan]) -> Plan:
    return plans["prod"]
