"""Shard runs in the database: which slice a run holds, read back from its settings.

The shard lives in the run's `settings` JSON (`settings->>'shard'`, "K/N"), beside the
other choices that decide which trials a run holds (filters, tags, limit, epochs).
"""

from __future__ import annotations

import duckdb


def recorded_shard(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """The shard ("K/N") a recorded run holds; None for a whole run (or an unknown id)."""
    row = con.execute("SELECT settings->>'shard' FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return None if row is None or row[0] is None else str(row[0])
