"""The single writer: a background thread that commits results in batches.

The engine thread only appends to a list (``put``); this thread wakes every
``flush_seconds``, or as soon as ``flush_rows`` results wait, serialises them,
and commits them in one transaction. A kill -9 therefore loses at most the batch
being collected. The engine does not wake the writer for each result: on a
2-core machine a thread switch per trial cost more than the writing itself.
The list is bounded so a slow disk slows the engine down instead of filling
memory with 20 KB outputs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from evalkit.errors import StoreError
from evalkit.records import TargetOutput, TrialResult
from evalkit.store.batch import Batch, CacheEntry
from evalkit.store.memory import make_room

_Item = tuple[TrialResult, str | None, str | None] | CacheEntry

# Bounds in bytes of output text as well as in rows: 2,000 waiting results of 1 MB
# each would otherwise hold 2 GB, and a 500-row batch of them must fit in DuckDB's memory.
FLUSH_BYTES = 8 * 1024 * 1024
MAX_PENDING_BYTES = 32 * 1024 * 1024


class ResultWriter:
    """Commits a run's results from a background thread; see the module docstring."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        *,
        flush_rows: int = 500,
        flush_seconds: float = 1.0,
        path: Path | None = None,
        headers_fd: int | None = None,
    ) -> None:
        if flush_rows < 1 or flush_seconds <= 0:
            raise ValueError("flush_rows must be >= 1 and flush_seconds > 0")
        self.run_id = run_id
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.written = 0  # results committed so far; only the writer thread adds to it
        self._pending: list[_Item] = []
        self._max_pending = max(4 * flush_rows, 100)
        self._pending_bytes = 0  # output text waiting, see MAX_PENDING_BYTES
        self._cond = threading.Condition()
        self._flush_asked = 0  # flush() tickets handed out ...
        self._flush_done = 0  # ... and the highest one whose results are committed
        self._stopping = False
        self._cursor = con.cursor()  # DuckDB connections are not shared across threads
        self._failure: BaseException | None = None
        self._lost = 0
        self._inline_large = 0  # bytes of large strings stored inline so far, see _commit
        self._closed = False
        # The database file's identity: deleted or replaced mid-run, DuckDB would go on
        # committing to an unlinked inode and every result would vanish at exit. Emptied
        # or overwritten in place (same inode), DuckDB would write into a file that no
        # longer holds our database; its headers tell, see _Headers.
        self._path = path
        self._identity = _identity(path) if path is not None else None
        self._headers_fd = headers_fd
        self._headers = _Headers.read(headers_fd) if headers_fd is not None else None
        self._thread = threading.Thread(
            target=self._run, name=f"evalkit-writer-{run_id}", daemon=True
        )
        self._thread.start()

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None:
        """Hand one finished trial to the writer (blocks only when too many are waiting)."""
        if self._failure is not None or self._closed:
            raise self._error()
        with self._cond:
            while self._full() and self._thread.is_alive():
                self._cond.wait(0.05)
            self._pending.append((result, cache_key, provider))
            self._pending_bytes += len(result.output.text or "")
            if len(self._pending) >= self.flush_rows or self._pending_bytes >= FLUSH_BYTES:
                self._cond.notify_all()

    def _full(self) -> bool:
        """Whether put() must wait for the writer to catch up (lock held)."""
        return len(self._pending) >= self._max_pending or self._pending_bytes >= MAX_PENDING_BYTES

    def put_cache(self, key: str, provider: str, output: TargetOutput) -> None:
        """Store a response made outside a trial (a model judge's) in the response cache,
        committed with the next batch of results."""
        if self._failure is not None or self._closed:
            raise self._error()
        with self._cond:
            self._pending.append(CacheEntry(key, provider, output))

    def flush(self) -> None:
        """Block until everything put so far is committed."""
        if self._closed:
            raise self._error()
        with self._cond:
            self._flush_asked += 1
            ticket = self._flush_asked
            self._cond.notify_all()
            while self._flush_done < ticket and self._thread.is_alive():
                self._cond.wait(0.05)
        if self._failure is not None:
            raise self._error()

    def close(self) -> None:
        """Commit what is left and stop the thread; StoreError if any batch failed."""
        if not self._closed:
            self._closed = True
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
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
        if isinstance(self._failure, _FileGone):
            return StoreError(
                f"the results database {self._path} was {self._failure} while run "
                f"{self.run_id} was writing to it: all {self.written + self._lost} results "
                "of this run were lost (the saved ones went to the file that is gone)",
                hint="keep the database file in place during a run, then rerun",
            )
        return StoreError(
            f"could not save results of run {self.run_id} to the results database: "
            f"{self._failure} ({self.written} results were saved, {self._lost} were not)",
            hint="check free disk space and that the database file is writable, then rerun",
        )

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_seconds
                while not self._due():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                items, self._pending, self._pending_bytes = self._pending, [], 0
                ticket, stopping = self._flush_asked, self._stopping
                self._cond.notify_all()  # room again for a put() waiting on a full list
            self._write(items)
            with self._cond:
                self._flush_done = ticket
                self._cond.notify_all()
            if stopping:
                return

    def _due(self) -> bool:
        """Whether to write now rather than wait out the flush interval (lock held)."""
        return (
            self._stopping
            or self._flush_asked > self._flush_done
            or len(self._pending) >= self.flush_rows
            or self._pending_bytes >= FLUSH_BYTES
        )

    def _write(self, items: list[_Item]) -> None:
        if not items:
            return
        if self._failure is not None:
            self._lost += len(items)  # keep draining so put() never blocks forever
            return
        batch = Batch()
        for item in items:
            try:
                if isinstance(item, CacheEntry):
                    batch.add_cache(item)
                else:
                    batch.add(*item)
            except Exception as exc:  # e.g. an output that can't be serialised
                self._fail(exc, 1)
        if self._failure is not None:
            self._lost += batch.size  # the run is failing: say so rather than half-save
            return
        self._commit(batch)

    def _commit(self, batch: Batch) -> Batch:
        """Write one batch in one transaction; returns a fresh, empty batch."""
        if batch.empty or self._failure is not None:
            return Batch() if not batch.empty else batch
        cur = self._cursor
        try:
            self._check_file()
            self._inline_large += batch.inline_large_bytes()
            make_room(cur, self._inline_large, batch.long_text_bytes())
            cur.begin()
            batch.insert(cur)
            cur.commit()
            self._check_file()  # deleted during the commit: this batch is gone with it
        except Exception as exc:
            # the transaction may already be gone; the original error is what matters
            with contextlib.suppress(duckdb.Error):
                cur.rollback()
            self._fail(exc, batch.size)
        else:
            self.written += batch.size
        return Batch()

    def _check_file(self) -> None:
        """Raise _FileGone when the database file is no longer the one the run opened."""
        if self._identity is None or self._path is None:
            return
        now = _identity(self._path)
        if now is None:
            raise _FileGone("deleted")
        if now != self._identity:
            raise _FileGone("replaced by another file")
        if self._headers_fd is None:
            return
        headers = _Headers.read(self._headers_fd)
        if headers is None:
            return  # a header being rewritten by a checkpoint right now: check next commit
        if not headers.valid:
            raise _FileGone("truncated or overwritten")
        if self._headers is not None and not headers.follows(self._headers):
            raise _FileGone("overwritten by another database file")
        self._headers = headers

    def _fail(self, exc: BaseException, lost: int) -> None:
        if self._failure is None:
            self._failure = exc
        self._lost += lost


class _FileGone(Exception):
    """The database file was deleted, replaced, or emptied or overwritten in place."""


# A DuckDB file starts with its main header (the magic `DUCK` at offset 8), then two
# database headers, each opening with a checksum and an iteration counter. A checkpoint
# writes the next iteration into the older of the two, so the highest one only grows.
_BLOCK = 4096
_MAGIC = slice(8, 12)
_HEADERS_SIZE = 3 * _BLOCK
_ITERATION = slice(8, 16)  # within a database header


@dataclass(frozen=True, slots=True)
class _Headers:
    """What the database file's headers say, read at each commit."""

    valid: bool  # long enough for its headers, and a DuckDB file
    iteration: int  # the newer database header's iteration counter
    current: bytes  # the newer database header itself

    @classmethod
    def read(cls, fd: int) -> _Headers | None:
        """The headers of the file open as `fd` (never opened and closed here: a close
        drops DuckDB's locks); None while a checkpoint is rewriting one of them.

        Read until two reads agree: a header caught half-written must not be taken for
        another file's (the same iteration with other bytes) on the next commit.
        """
        last = b""
        for _ in range(5):
            try:
                data = os.pread(fd, _HEADERS_SIZE, 0)
            except OSError:
                data = b""
            if data == last:
                return cls._parse(data)
            last = data
        return None

    @classmethod
    def _parse(cls, data: bytes) -> _Headers:
        if len(data) < _HEADERS_SIZE or data[_MAGIC] != b"DUCK":
            return cls(valid=False, iteration=0, current=b"")
        one, two = data[_BLOCK : 2 * _BLOCK], data[2 * _BLOCK :]
        newer = max(one, two, key=lambda h: int.from_bytes(h[_ITERATION], "little"))
        return cls(True, int.from_bytes(newer[_ITERATION], "little"), newer)

    def follows(self, before: _Headers) -> bool:
        """Whether these headers can be `before`'s after our own checkpoints: DuckDB never
        lowers the iteration, nor rewrites a header without raising it."""
        if not before.valid:
            return True
        if self.iteration != before.iteration:
            return self.iteration > before.iteration
        return self.current == before.current


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of `path`, None when it does not exist."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino
