"""Waiting for the results database while another evalkit process holds it.

DuckDB lets one process at a time open a database file for writing, and holds that
lock until the connection closes. Two `evalkit run`s on one database (two CI jobs on a
shared runner, a nightly run overlapping a manual one) would otherwise see the second
fail outright; instead it says who holds the database and waits its turn, up to a
limit, then stops with the same friendly message. Nothing is lost either way: each run
writes its own rows under its own run id.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from evalkit.errors import StoreBusyError, UsageError
from evalkit.store.db import Store
from evalkit.store.memory import apply_memory_limit

WAIT_ENV = "EVALKIT_DB_WAIT"
DEFAULT_WAIT_SECONDS = 1800.0  # longer than a typical CI eval, shorter than a CI job limit
_MAX_POLL_SECONDS = 1.0


def wait_seconds() -> float:
    """How long to wait for a busy database: $EVALKIT_DB_WAIT seconds, else the default."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        raise UsageError(
            f"{WAIT_ENV}={raw!r} is not a number of seconds",
            hint=f"e.g. {WAIT_ENV}=0 to stop at once, {WAIT_ENV}=600 to wait ten minutes",
        )
    return value


def open_when_free(
    path: Path, *, wait: float, notify: Callable[[str], None] = lambda _msg: None
) -> Store:
    """Open `path` for writing (waiting up to `wait` s while another process has it)."""
    deadline = time.monotonic() + wait
    poll = 0.05
    told = False
    while True:
        try:
            store = Store.open(path)
        except StoreBusyError as busy:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if not told:
                    raise
                raise StoreBusyError(
                    f"{busy.message} (gave up after waiting {wait:g}s)",
                    hint=f"set {WAIT_ENV} to wait longer",
                ) from busy
            if not told:
                holder = busy.message.split(";")[0]
                notify(f"{holder}; waiting for it to finish (up to {wait:g}s, {WAIT_ENV})")
                told = True
            time.sleep(min(poll, remaining))
            poll = min(poll * 2, _MAX_POLL_SECONDS)
            continue
        try:
            apply_memory_limit(store.con, writer=True)
        except BaseException:
            store.close()
            raise
        return store
