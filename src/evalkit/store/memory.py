"""The cap on DuckDB's memory: in the process that writes a run, and in the readers.

DuckDB keeps the blocks it has written in its buffer pool until memory pressure evicts
them, and its own limit is 80% of RAM: a 50,000-trial run of 20 KB outputs grew to
1.4 GB that way, none of it needed again. So readers (report, export, CI reports) cap
it at DEFAULT_LIMIT, and the process that writes a run starts at WRITER_LIMIT and
raises the cap only as far as what it writes needs: a batch of long outputs (over 4 KB,
which DuckDB keeps in overflow blocks) needs room for BATCH_ROOM times their text
(`make_room`, never past DEFAULT_LIMIT), so runs of short outputs stay small (50,000
trials of 2 KB: DuckDB's cache was 256 MB of a 392 MB peak) while batches of 100 KB
outputs get the 128 MB they need. $EVALKIT_DB_MEMORY_LIMIT sets the starting cap of
both (`none` keeps DuckDB's default).

A cap is safe only if every checkpoint fits under it, and DuckDB checkpoints a row group
by pinning every string in it over ~64 KB at once. Outputs that large are stored in
parts (store/large_texts.py). Other strings that large are rare (a case's passages, a
structured output's JSON, metadata, a judge's reasoning) and stay inline, so before
storing them the writer makes room for them too (`make_room`).
"""

from __future__ import annotations

import math
import os
import re

import duckdb

from evalkit.errors import UsageError

MEMORY_ENV = "EVALKIT_DB_MEMORY_LIMIT"
DEFAULT_LIMIT = "256MB"
WRITER_LIMIT = "32MB"
# Cap needed per byte of text in the batch being written. Measured: batches of 8 MB of
# 100 KB outputs failed to allocate under 64 MB and ran under 128 MB.
BATCH_ROOM = 12
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_SHOWN = re.compile(r"([\d.]+)\s*([KMGT]i?B|bytes|B)", re.IGNORECASE)
_UNITS = {"b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def apply_memory_limit(
    con: duckdb.DuckDBPyConnection, *, writer: bool = False, default: str | None = None
) -> None:
    """Cap DuckDB's memory at $EVALKIT_DB_MEMORY_LIMIT, else at `default`, DEFAULT_LIMIT
    (a reader) or WRITER_LIMIT (the process that writes a run: `make_room` raises it as
    needed)."""
    raw = os.environ.get(MEMORY_ENV, "").strip() or (
        default or (WRITER_LIMIT if writer else DEFAULT_LIMIT)
    )
    if raw.lower() == "none":
        return
    if not _SIZE.fullmatch(raw):
        raise UsageError(
            f"{MEMORY_ENV}={raw!r} is not a size",
            hint=f"e.g. {MEMORY_ENV}=512MB, or {MEMORY_ENV}=none for DuckDB's default (80% of RAM)",
        )
    # validated above: a number and a unit, nothing that could change the statement
    con.execute(f"SET memory_limit = '{raw}'")


def make_room(con: duckdb.DuckDBPyConnection, large_bytes: int, batch_bytes: int = 0) -> None:
    """Raise the cap, if need be, so a checkpoint can pin `large_bytes` of strings
    over ~64 KB on top of the usual working memory (twice over: measured as enough), and
    a batch with `batch_bytes` of long text can be written (BATCH_ROOM times over)."""
    # at most the readers' cap, which held any batch before the writer started lower (a
    # writer that falls behind writes all it holds at once: up to 200 MB of 100 KB outputs)
    wanted = min(_bytes(WRITER_LIMIT) + BATCH_ROOM * max(batch_bytes, 0), _bytes(DEFAULT_LIMIT))
    if large_bytes > 0:
        wanted = max(wanted, _bytes(DEFAULT_LIMIT) + 2 * large_bytes)
    current = current_limit(con)
    if current is not None and current < wanted:
        con.execute(f"SET memory_limit = '{math.ceil(wanted / 2**20)}MiB'")


def current_limit(con: duckdb.DuckDBPyConnection) -> int | None:
    """DuckDB's memory limit in bytes, as it reports it (None if it can't be read)."""
    # fetchall: a result left open (fetchone) keeps the connection from registering data
    rows = con.execute("SELECT current_setting('memory_limit')").fetchall()
    return _bytes(str(rows[0][0])) if rows else None


def _bytes(size: str) -> int:
    found = _SHOWN.search(size)
    if found is None:
        return 0
    return int(float(found[1]) * _UNITS[found[2].lower()])
