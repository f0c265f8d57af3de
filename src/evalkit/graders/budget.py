"""A time budget for graders that run the user's own code.

A grader from the workspace (`graders/*.py`), an installed package or the `python`
grader's function is code evalkit cannot vouch for: a loop that never ends there would
block the event loop, so no trial could finish, no batch could be committed and a
first Ctrl-C or SIGTERM could never drain. Such a grader runs on a daemon thread
instead, and the trial waits for it at most `EVALKIT_GRADER_BUDGET` seconds (default
30); past that the grade is an `error` whose reason says so, and the run goes on.

A thread cannot be killed: one that never returns is abandoned. It is a daemon, so it
never keeps the process alive, and it is never reused; a new thread takes its place.
Async graders are awaited on the loop as before (they cannot block it without blocking
every other coroutine too, which no budget can undo).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

BUDGET_ENV = "EVALKIT_GRADER_BUDGET"
DEFAULT_BUDGET = 30.0

Job = tuple[Callable[..., Any], tuple[Any, ...], "concurrent.futures.Future[Any]"]


class GraderOverBudget(Exception):
    """A grader ran past its time budget."""


def budget_seconds() -> float:
    """The budget in seconds from `EVALKIT_GRADER_BUDGET` (a positive number), else 30."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_BUDGET
    except ValueError:
        return DEFAULT_BUDGET
    return value if value > 0 else DEFAULT_BUDGET


class _Worker:
    """One daemon thread taking calls from its own queue, one at a time."""

    def __init__(self, pool: _DaemonPool) -> None:
        self._pool = pool
        self.jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="evalkit-grader", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, args, future = self.jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the awaiting trial as it was raised
                    future.set_exception(exc)
            self._pool.release(self)


class _DaemonPool:
    """Idle workers are reused; a busy one (an abandoned one included) gets no new call."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        (worker or _Worker(self)).jobs.put((fn, args, future))
        return future

    def release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)


_POOL = _DaemonPool()


async def call_within_budget(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` on a daemon thread; GraderOverBudget when it takes longer than the budget."""
    budget = budget_seconds()
    future = asyncio.wrap_future(_POOL.submit(fn, *args))
    try:
        return await asyncio.wait_for(future, budget)
    except TimeoutError:
        raise GraderOverBudget(
            f"grader ran past its {budget:g} s budget and was abandoned (does it loop "
            f"forever?); set {BUDGET_ENV} to allow more time"
        ) from None
