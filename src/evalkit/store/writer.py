"""The single writer: a background thread that commits results in batches.

The engine thread only enqueues (``put``); this thread serialises, inserts and
commits every ``flush_seconds`` or ``flush_rows`` results, whichever comes first,
one transaction per batch. A kill -9 therefore loses at most the batch being
collected. The queue is bounded so a slow disk slows the engine down instead of
filling memory with 20 KB outputs.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field

import duckdb

from evalkit.errors import StoreError
from evalkit.records import TrialResult
from evalkit.store.batch import Batch


@dataclass(slots=True)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()
_Item = tuple[TrialResult, str | None, str | None] | _Flush | object


class ResultWriter:
    """Commits a run's results from a background thread; see the module docstring."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        *,
        flush_rows: int = 500,
        flush_seconds: float = 1.0,
    ) -> None:
        if flush_rows < 1 or flush_seconds <= 0:
            raise ValueError("flush_rows must be >= 1 and flush_seconds > 0")
        self.run_id = run_id
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.written = 0  # results committed so far; only the writer thread adds to it
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max(2 * flush_rows, 100))
        self._cursor = con.cursor()  # DuckDB connections are not shared across threads
        self._failure: BaseException | None = None
        self._lost = 0
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name=f"evalkit-writer-{run_id}", daemon=True
        )
        self._thread.start()

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None:
        """Hand one finished trial to the writer (blocks only when the queue is full)."""
        if self._failure is not None or self._closed:
            raise self._error()
        self._queue.put((result, cache_key, provider))

    def flush(self) -> None:
        """Block until everything put so far is committed."""
        if self._closed:
            raise self._error()
        request = _Flush()
        self._queue.put(request)
        while not request.done.wait(0.05):
            if not self._thread.is_alive():  # pragma: no cover - the thread never dies silently
                break
        if self._failure is not None:
            raise self._error()

    def close(self) -> None:
        """Commit what is left and stop the thread; StoreError if any batch failed."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            self._cursor.close()
        if self._failure is not None:
            raise self._error()

    @property
    def closed(self) -> bool:
        """Whether close() has been called."""
        return self._closed

    def _error(self) -> StoreError:
        if self._failure is None:
            return StoreError(f"the result writer for run {self.run_id} is closed")
        return StoreError(
            f"could not save results of run {self.run_id} to the results database: "
            f"{self._failure} ({self.written} results were saved, {self._lost} were not)",
            hint="check free disk space and that the database file is writable, then rerun",
        )

    def _run(self) -> None:
        batch = Batch()
        deadline: float | None = None  # when the oldest uncommitted result must be saved
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                batch, deadline = self._commit(batch), None
                continue
            if isinstance(item, tuple):
                if self._failure is not None:
                    self._lost += 1  # keep draining so put() never blocks forever
                    continue
                try:
                    batch.add(*item)
                except Exception as exc:  # e.g. an output that can't be serialised
                    self._fail(exc, batch.size + 1)
                    batch = Batch()
                    continue
                if deadline is None:
                    deadline = time.monotonic() + self.flush_seconds
                if batch.size >= self.flush_rows:
                    batch, deadline = self._commit(batch), None
            elif isinstance(item, _Flush):
                batch, deadline = self._commit(batch), None
                item.done.set()
            else:  # _STOP
                self._commit(batch)
                return

    def _commit(self, batch: Batch) -> Batch:
        """Write one batch in one transaction; returns a fresh, empty batch."""
        if batch.size == 0 or self._failure is not None:
            return Batch() if batch.size else batch
        cur = self._cursor
        try:
            cur.begin()
            batch.insert(cur)
            cur.commit()
        except Exception as exc:
            # the transaction may already be gone; the original error is what matters
            with contextlib.suppress(duckdb.Error):
                cur.rollback()
            self._fail(exc, batch.size)
        else:
            self.written += batch.size
        return Batch()

    def _fail(self, exc: BaseException, lost: int) -> None:
        if self._failure is None:
            self._failure = exc
        self._lost += lost
