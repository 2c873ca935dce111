"""Shared fixtures: each stack's offline plan, run once per test session.

Besides what a program run itself does to be quick (offline/sdk_shortcuts.py), two things
keep the suite fast without changing what any test runs or asserts:
- the garbage collector: a program run under the mocks allocates a great many short-lived
  objects (asyncio tasks, outputs), and each full collection walked the SDKs' modules again
  (pulumi_aws alone is a few hundred thousand objects). A run itself keeps the collector off
  (offline/mocks.py `run_mocked`); for the rest of a test, once collection has imported every
  module they are frozen out of its scans, and the youngest generation is collected every 20,000
  allocations;
- the chart renders and the plans of a session are shared by its workers
  (`tests/support/session_cache.py`): one directory per session, made here by the controller
  before its workers start, removed at the end.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.mocks import Plan  # noqa: E402
from tests.support.plans import plan_once  # noqa: E402
from tests.support.session_cache import SESSION_CACHE_ENV  # noqa: E402

_made_cache = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and SESSION_CACHE_ENV not in os.environ:  # the controller (or no xdist)
        os.environ[SESSION_CACHE_ENV] = tempfile.mkdtemp(prefix="airflow-eks-session-")
        config.stash[_made_cache] = os.environ[SESSION_CACHE_ENV]


def pytest_unconfigure(config: pytest.Config) -> None:
    made = config.stash.get(_made_cache, None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        del os.environ[SESSION_CACHE_ENV]


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return {stack: plan_once(stack) for stack in ("dev", "prod")}


@pytest.fixture(scope="session")
def dev(plans: dict[str, Plan]) -> Plan:
    return plans["dev"]


@pytest.fixture(scope="session")
def prod(plans: dict[str, Plan]) -> Plan:
    return plans["prod"]
