"""An optional cap on DuckDB's memory for the process that writes a run.

DuckDB keeps the blocks it has written in its buffer pool until memory pressure
evicts them, and its default limit is 80% of RAM: a 50,000-trial run of 20 KB
outputs grows to about 1 GB that way, none of it needed again. Setting
EVALKIT_DB_MEMORY_LIMIT (e.g. 256MB) caps it and keeps the run flat. It is not the
default because a batch of very large outputs (500 x 1 MB) must fit under the cap,
or DuckDB refuses the insert.
"""

from __future__ import annotations

import os
import re

import duckdb

from evalkit.errors import UsageError

MEMORY_ENV = "EVALKIT_DB_MEMORY_LIMIT"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def apply_memory_limit(con: duckdb.DuckDBPyConnection) -> None:
    """Set DuckDB's memory_limit from $EVALKIT_DB_MEMORY_LIMIT, when it is set."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return
    if not _SIZE.fullmatch(raw):
        raise UsageError(
            f"{MEMORY_ENV}={raw!r} is not a size",
            hint=f"e.g. {MEMORY_ENV}=256MB, or unset it for DuckDB's default",
        )
    # validated above: a number and a unit, nothing that could change the statement
    con.execute(f"SET memory_limit = '{raw}'")
