"""Opening the results database: connect, translate DuckDB's errors, migrate."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from evalkit.errors import StoreBusyError, StoreError
from evalkit.records import Case, TargetOutput
from evalkit.store import cache, runs
from evalkit.store.migrations import applied_version, check_not_newer, latest_version, migrate
from evalkit.store.runs import RunInfo, RunTarget
from evalkit.store.writer import ResultWriter

_LOCK_WORDS = ("could not set lock", "conflicting lock")
# What DuckDB raises when the pages a query reaches are missing or garbled.
_DAMAGE = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.FatalException,
    duckdb.SerializationException,
)
_OPENED: list[Path] = []  # databases this process opened, newest last (see read_error)
_PID = re.compile(r"\(PID (\d+)\)")
_STORAGE_VERSION = re.compile(r"storage version number (\d+)")


class Store:
    """An open results database. Use `Store.open`; close it (or use `with`)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        self._writers: list[ResultWriter] = []
        # The writers read the file's headers through this one descriptor, open until the
        # connection is closed: closing any descriptor of a file drops every POSIX lock
        # this process holds on it, DuckDB's included (a second process then wrote too).
        self._headers_fd: int | None = None

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Store:
        """Open (and on a writable open, create and migrate) the database at `path`."""
        path = Path(path).expanduser()
        _OPENED.append(path)
        if read_only:
            if not path.exists():
                raise StoreError(
                    f"no runs recorded yet at {path}; run `evalkit run` first",
                    hint="or point --db/EVALKIT_DB at the database you meant",
                )
            return cls(path, _open_read_only(path), read_only=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_writable(path, exc.strerror or str(exc)) from exc
        if not os.access(path.parent, os.W_OK):  # EROFS even for root on a read-only mount
            raise _not_writable(path, "permission denied or read-only file system")
        con = _connect(path, read_only=False)
        try:
            migrate(con, str(path))
            store = cls(path, con, read_only=False)
            store._headers_fd = os.open(path, os.O_RDONLY)
        except BaseException:
            con.close()
            raise
        return store

    def writer(
        self, run_id: str, *, flush_rows: int = 500, flush_seconds: float = 1.0
    ) -> ResultWriter:
        """Start the single background writer for `run_id`'s results."""
        self._require_writable("write results")
        writer = ResultWriter(
            self.con,
            run_id,
            flush_rows=flush_rows,
            flush_seconds=flush_seconds,
            path=self.path,
            headers_fd=self._headers_fd,
        )
        self._writers.append(writer)
        return writer

    def start_run(self, info: RunInfo, targets: list[RunTarget], cases: list[Case]) -> None:
        """Record a run as `running`, with its targets and any cases not stored yet."""
        self._require_writable("record a run")
        try:
            runs.start_run(self.con, info, targets, cases)
        except StoreError as exc:
            damaged = read_error(exc.__cause__) if exc.__cause__ is not None else None
            if damaged is not None:
                raise damaged from exc
            raise

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        """Mark a run finished with `status` and its summary totals."""
        self._require_writable("finish a run")
        runs.finish_run(self.con, run_id, status, summary)

    def cached_outputs(self, keys: Iterable[str]) -> dict[str, TargetOutput]:
        """Cached outputs for those of `keys` that are in the response cache."""
        return cache.cached_outputs(self.con, keys)

    def close(self) -> None:
        """Flush and stop any writer still running, then close the connection."""
        writers, self._writers = self._writers, []
        try:
            for writer in writers:
                if not writer.closed:  # a writer closed by its owner reported its own errors
                    writer.close()
        finally:
            self.con.close()
            if self._headers_fd is not None:  # after DuckDB let go of its locks
                os.close(self._headers_fd)
                self._headers_fd = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _require_writable(self, action: str) -> None:
        if self.read_only:
            # a programming error in evalkit, but say it plainly all the same
            raise StoreError(f"cannot {action}: {self.path} was opened read-only")


def read_error(exc: BaseException) -> StoreError | None:
    """A DuckDB error that escaped a query, said as what it almost always means: the file
    is damaged (cut short, overwritten), or the memory cap was too small. DuckDB opens a
    damaged file and fails only when a query reaches the broken pages, anywhere in any
    command. None for any other exception."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        first = str(exc).strip().splitlines()[0]
        return StoreError(
            f"DuckDB ran out of memory under evalkit's cap ({first})",
            hint="raise the cap, e.g. EVALKIT_DB_MEMORY_LIMIT=1GB (or =none for DuckDB's "
            "own 80% of RAM)",
        )
    if not isinstance(exc, _DAMAGE):
        return None
    where = f" {_OPENED[-1]}" if _OPENED else ""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(
        f"cannot read the results database{where}: it is damaged (cut short or overwritten) "
        f"or not a DuckDB file (DuckDB said: {first_line})",
        hint="move the file aside to start a fresh history (keep it if you mean to recover "
        "it), or point --db/EVALKIT_DB at another database",
    )


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, migrating first (briefly writable) if the schema is old."""
    con = _connect(path, read_only=True)
    try:
        version = check_not_newer(con, str(path))
    except BaseException:
        con.close()
        raise
    if version == latest_version():
        return con
    # An older database (written by an older evalkit) gains the new views and tables
    # before we read it, so every reader sees the schema it was written against.
    con.close()
    writable = _connect(path, read_only=False)
    try:
        migrate(writable, str(path))
    finally:
        writable.close()
    con = _connect(path, read_only=True)
    if applied_version(con) != latest_version():  # pragma: no cover - migrate() guarantees it
        con.close()
        raise StoreError(f"could not bring {path} up to schema v{latest_version()}")
    return con


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """duckdb.connect with its errors turned into ones that say what to do."""
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _translate_open_error(path, exc) from exc
    # DuckDB draws a progress bar on stdout for queries over two seconds (a big report or
    # export): it would land inside the command's own output
    con.execute("SET enable_progress_bar = false")
    return con


def _not_writable(path: Path, why: str) -> StoreError:
    return StoreError(
        f"cannot write the results database {path}: the folder {path.parent} is not "
        f"writable ({why})",
        hint="point the run at a writable place with --db (e.g. --db /tmp/evalkit.duckdb) "
        "or EVALKIT_DB; reading commands still work on a read-only folder",
    )


def _translate_open_error(path: Path, exc: duckdb.Error) -> StoreError:
    text = str(exc)
    for why in ("Read-only file system", "Permission denied"):
        if why.lower() in text.lower():
            return _not_writable(path, why.lower())
    if any(word in text.lower() for word in _LOCK_WORDS):
        pid = _PID.search(text)
        holder = f" (PID {pid[1]})" if pid else ""
        return StoreBusyError(
            f"the results database {path} is in use by another evalkit process{holder}; "
            "wait for it to finish or use --db/EVALKIT_DB for a separate database"
        )
    if "created with a newer version of duckdb" in text.lower():
        found = _STORAGE_VERSION.search(text)
        version = f" (storage version {found[1]})" if found else ""
        return StoreError(
            f"the results database {path} was written by a newer DuckDB{version} than the "
            f"DuckDB {duckdb.__version__} installed here, which cannot read it",
            hint="upgrade evalkit and duckdb where you read it "
            "(pip install -U evalkit-cli duckdb), or use --db/EVALKIT_DB for a separate database",
        )
    return StoreError(
        f"cannot open the results database {path} with DuckDB {duckdb.__version__}: it is "
        f"not a DuckDB database, is damaged, or was written by an incompatible DuckDB "
        f"version (DuckDB said: {text})",
        hint="move the file aside to start a fresh history, or open it with the evalkit/DuckDB "
        "version that wrote it and EXPORT DATABASE",
    )
