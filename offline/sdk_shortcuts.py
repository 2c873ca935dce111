"""What the offline harness changes in the Python SDK (pulumi 3.272, requirements.txt) while a
program runs under the mocks, to make a run cheaper without changing what the monitor receives
and records. Each one is measured and argued below; tests/plans/test_plan.py runs the program with
and without them and compares the whole plans, tests/unit/test_offline_sdk.py the functions.

- `contains_unknowns` (runtime/rpc.py, called through the module by the SDK and its outputs):
  the SDK's defines a recursive closure at every call, a reference cycle with its annotations,
  some 10,000 a run that only the garbage collector frees; the one here walks the same values.
- the capture of the caller's stack at every registration (runtime/resource.py
  `_get_stack_trace`): it feeds only the request's source position and stack trace, which the
  engine shows and the mock monitor never reads. Under pytest's deep stacks, a quarter of a run.
- the monitor answers in the event loop's thread (`InLoop`, the loop's default executor) instead
  of a pool of six threads, which passed each of the run's thousands of calls (registrations,
  the SDK's log lines) back and forth under the GIL; the monitor's own serialization then runs to
  its end in place (`run_to_completion`, offline/mocks.py `PlanMonitor._answering`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from pulumi.runtime import known_types, rpc
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

T = TypeVar("T")


def contains_unknowns(val: Any) -> bool:
    """Whether an unknown is reachable from `val` through dicts and lists, each object looked at
    once: the answer of the SDK's `rpc.contains_unknowns`, without its closure."""
    seen: set[int] = set()
    todo = [val]
    while todo:
        item = todo.pop()
        if known_types.is_unknown(item):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            todo.extend(item[key] for key in item)  # not .values(): a typed input may shadow it
        elif isinstance(item, list):
            todo.extend(item)
    return False


def run_to_completion(awaitable: Awaitable[T]) -> T:
    """The result of a coroutine that never waits, run without an event loop; one that would wait
    is an error (nothing of the monitor's waits: it serializes plain data)."""
    steps = awaitable.__await__()
    try:
        next(steps)
    except StopIteration as done:
        result: T = done.value
        return result
    steps.close()
    raise RuntimeError("a coroutine the offline monitor ran in place waited for something")


class InLoop(ThreadPoolExecutor):
    """An executor that runs what it is given at once, in the caller's thread (asyncio requires a
    ThreadPoolExecutor as a loop's default executor; this one starts no thread)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the awaiting task, as a pool's worker does
            future.set_exception(err)
        return future


_IN_LOOP = InLoop()


@contextmanager
def sdk_shortcuts(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """The shortcuts above, for a run of the program in `loop`; the monitor must be told that it
    is called in the loop's thread (`PlanMonitor(in_loop=True)`)."""
    saved = rpc.contains_unknowns, sdk_resource._get_stack_trace
    rpc.contains_unknowns = contains_unknowns
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    loop.set_default_executor(_IN_LOOP)
    try:
        yield
    finally:
        # A new pool, as the stock loop makes on first use (closing a loop shuts its pool down).
        loop.set_default_executor(ThreadPoolExecutor())
        rpc.contains_unknowns, sdk_resource._get_stack_trace = saved
