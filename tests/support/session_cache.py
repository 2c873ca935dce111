"""What a test session computes once and its xdist workers share: a directory the controller
makes before the workers start (tests/conftest.py), a pickle per key, and a lock per key, so
that a worker asking for a value under way waits for it."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

SESSION_CACHE_ENV = "AIRFLOW_EKS_TEST_SESSION_CACHE"
"""The session's directory, made by the controller (tests/conftest.py)."""

T = TypeVar("T")
_alone: dict[str, bytes] = {}
"""Without the session's directory (pytest without the conftest's controller): this process's."""


def once(key: Any, build: Callable[[], T]) -> T:
    """`build()`, computed once per session for the same `key` (JSON-able). Each call returns its
    own copy: a test may change what it reads."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    cache = os.environ.get(SESSION_CACHE_ENV)
    if not cache:
        if digest not in _alone:
            _alone[digest] = pickle.dumps(build())
        copy: T = pickle.loads(_alone[digest])
        return copy
    path = Path(cache) / f"{digest}.pickle"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.with_suffix(".tmp").write_bytes(pickle.dumps(build()))
            path.with_suffix(".tmp").replace(path)
    shared: T = pickle.loads(path.read_bytes())
    return shared
