"""The cap on DuckDB's memory in the process that writes a run.

DuckDB keeps the blocks it has written in its buffer pool until memory pressure evicts
them, and its own limit is 80% of RAM: a 50,000-trial run of 20 KB outputs grew to
1.4 GB that way, none of it needed again. So a writing process caps it at
DEFAULT_LIMIT (or $EVALKIT_DB_MEMORY_LIMIT; `none` keeps DuckDB's default).

A cap is safe only if every checkpoint fits under it, and DuckDB checkpoints a row group
by pinning every string in it over ~64 KB at once. Outputs that large are stored in
parts (store/large_texts.py). Other strings that large are rare (a case's passages, a
structured output's JSON, metadata, a judge's reasoning) and stay inline, so before
storing them the writer makes room for them (`make_room`).
"""

from __future__ import annotations

import math
import os
import re

import duckdb

from evalkit.errors import UsageError

MEMORY_ENV = "EVALKIT_DB_MEMORY_LIMIT"
DEFAULT_LIMIT = "256MB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_SHOWN = re.compile(r"([\d.]+)\s*([KMGT]i?B|bytes|B)", re.IGNORECASE)
_UNITS = {"b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def apply_memory_limit(con: duckdb.DuckDBPyConnection) -> None:
    """Cap DuckDB's memory at $EVALKIT_DB_MEMORY_LIMIT, else at DEFAULT_LIMIT."""
    raw = os.environ.get(MEMORY_ENV, "").strip() or DEFAULT_LIMIT
    if raw.lower() == "none":
        return
    if not _SIZE.fullmatch(raw):
        raise UsageError(
            f"{MEMORY_ENV}={raw!r} is not a size",
            hint=f"e.g. {MEMORY_ENV}=512MB, or {MEMORY_ENV}=none for DuckDB's default (80% of RAM)",
        )
    # validated above: a number and a unit, nothing that could change the statement
    con.execute(f"SET memory_limit = '{raw}'")


def make_room(con: duckdb.DuckDBPyConnection, large_bytes: int) -> None:
    """Raise the cap, if need be, so a checkpoint can pin `large_bytes` of strings
    over ~64 KB on top of the usual working memory (twice over: measured as enough)."""
    if large_bytes <= 0:
        return
    current = current_limit(con)
    base = _bytes(DEFAULT_LIMIT)
    wanted = base + 2 * large_bytes
    if current is not None and current < wanted:
        con.execute(f"SET memory_limit = '{math.ceil(wanted / 2**20)}MiB'")


def current_limit(con: duckdb.DuckDBPyConnection) -> int | None:
    """DuckDB's memory limit in bytes, as it reports it (None if it can't be read)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    return _bytes(str(row[0])) if row else None


def _bytes(size: str) -> int:
    found = _SHOWN.search(size)
    if found is None:
        return 0
    return int(float(found[1]) * _UNITS[found[2].lower()])
