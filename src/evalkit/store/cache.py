"""The response cache: a target output stored by request hash, read back in one query."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import duckdb

from evalkit.records import TargetOutput, Usage


def dumps(value: Any) -> str:
    """JSON text for a store column: never fails on odd types, keeps non-ASCII readable."""
    return json.dumps(value, default=str, ensure_ascii=False)


def output_from_json(text: str, large_text: str | None = None) -> TargetOutput:
    """A cached output as the engine uses it: cached, free, no attempts made.

    The stored JSON (written by store/batch.py) has text, data, usage, latency_ms,
    cost_usd and metadata; a large text is stored apart (`text_ref`) and passed in as
    `large_text`. latency_ms is the live call's, so a latency grader gives a
    cached output the verdict the live one got.
    """
    stored = json.loads(text)
    usage = stored.get("usage")
    return TargetOutput(
        text=stored.get("text") if large_text is None else large_text,
        data=stored.get("data"),
        usage=Usage(**usage) if usage else None,
        latency_ms=float(stored.get("latency_ms") or 0.0),
        cost_usd=0.0,
        metadata=stored.get("metadata") or {},
        cached=True,
        attempts=0,
    )


def cached_outputs(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> dict[str, TargetOutput]:
    """The cached outputs for those of `keys` present in the cache (one query)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    with con.cursor() as cur:  # a cursor of our own: the writer thread may be busy
        rows = cur.execute(
            "SELECT key, output, full_output(NULL, output->>'text_ref') FROM response_cache "
            "WHERE key IN (SELECT unnest(?::VARCHAR[]))",
            [wanted],
        ).fetchall()
    return {key: output_from_json(output, large) for key, output, large in rows}
