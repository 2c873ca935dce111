"""The offline harness's shortcuts in the SDK (offline/sdk_shortcuts.py) give the SDK's answers and
are undone after a run; that a whole plan is unchanged is tests/plans/test_plan.py's."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from offline.sdk_shortcuts import InLoop, contains_unknowns, run_to_completion, sdk_shortcuts

STOCK = rpc.contains_unknowns


class Shadowing(dict[str, Any]):
    """A dict whose `values` is not dict.values (as a typed input's attribute may be)."""

    values = ["not", "a", "method"]  # type: ignore[assignment]


def _values() -> list[Any]:
    shared: dict[str, Any] = {"x": [1, 2]}
    looped: list[Any] = [1]
    looped.append(looped)
    looped_unknown: list[Any] = [{"a": looped}]
    looped_unknown.append(Unknown())
    return [
        None,
        "text",
        0,
        [],
        {},
        Unknown(),
        [1, [2, [3, Unknown()]]],
        {"a": {"b": [{"c": Unknown()}]}},
        {"a": shared, "b": shared, "c": [shared, {"d": 1}]},
        {"a": shared, "b": [shared, Unknown()]},
        looped,
        looped_unknown,
        Shadowing(a=1, b=[2]),
        Shadowing(a=1, b=[Unknown()]),
        ({"tuples": "are not walked"}, Unknown()),
    ]


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_the_replacement_answers_as_the_sdk(value: Any) -> None:
    assert contains_unknowns(value) is STOCK(value)


def test_the_cases_include_both_answers() -> None:
    assert {STOCK(v) for v in _values()} == {True, False}


def test_the_shortcuts_are_put_back_after_a_run_that_fails_too() -> None:
    loop = asyncio.new_event_loop()
    try:
        with sdk_shortcuts(loop):
            assert rpc.contains_unknowns is contains_unknowns
            assert isinstance(loop._default_executor, InLoop)  # type: ignore[attr-defined]
        assert rpc.contains_unknowns is STOCK
        with pytest.raises(RuntimeError, match="a failing program"), sdk_shortcuts(loop):
            raise RuntimeError("a failing program")
        assert rpc.contains_unknowns is STOCK
        assert not isinstance(loop._default_executor, InLoop)  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_the_executor_runs_in_the_callers_thread_and_hands_errors_over() -> None:
    executor = InLoop()
    assert executor.submit(threading.get_ident).result() == threading.get_ident()
    assert executor.submit(int, "12").result() == 12
    with pytest.raises(ValueError, match="invalid literal"):
        executor.submit(int, "twelve").result()


def test_a_coroutine_that_never_waits_runs_to_its_end_and_one_that_waits_is_refused() -> None:
    async def plain() -> str:
        return "done"

    async def waits() -> None:
        await asyncio.sleep(0)

    assert run_to_completion(plain()) == "done"
    with pytest.raises(RuntimeError, match="waited for something"):
        run_to_completion(waits())
