"""The response cache: a target output stored by request hash, read back in one query."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What the response cache holds, per provider and in total."""

    entries: int
    bytes: int  # size of the stored JSON (out-of-line texts counted once each)
    oldest: datetime | None
    newest: datetime | None
    providers: list[tuple[str, int, int]]  # (provider, entries, bytes), most entries first


def cache_stats(con: duckdb.DuckDBPyConnection) -> CacheStats:
    """Entries, size, age range and a per-provider breakdown of the response cache."""
    entries, size, oldest, newest = con.execute(
        "SELECT count(*), coalesce(sum(strlen(output::VARCHAR) + coalesce(("
        "  SELECT sum(strlen(l.text)) FROM large_texts l "
        "  WHERE l.text_hash = output->>'text_ref'), 0)), 0), min(created_at), max(created_at) "
        "FROM response_cache"
    ).fetchone() or (0, 0, None, None)
    providers = con.execute(
        "SELECT provider, count(*), sum(strlen(output::VARCHAR)) FROM response_cache "
        "GROUP BY provider ORDER BY count(*) DESC, provider"
    ).fetchall()
    return CacheStats(
        entries=int(entries),
        bytes=int(size),
        oldest=oldest,
        newest=newest,
        providers=[(str(p), int(n), int(b)) for p, n, b in providers],
    )


def clear_cache(
    con: duckdb.DuckDBPyConnection,
    *,
    older_than: timedelta | None = None,
    target: str | None = None,
) -> int:
    """Delete cached responses (all, older than a duration, or those a target received).

    A response belongs to a target when any recorded trial of that target used its key
    (`results.request_hash`); the cache itself only knows the provider. Returns the number
    of entries deleted. Out-of-line texts stay: recorded results share them.
    """
    where: list[str] = []
    params: list[Any] = []
    if older_than is not None:
        where.append("created_at < ?")
        params.append(datetime.now(UTC) - older_than)
    if target is not None:
        where.append("key IN (SELECT request_hash FROM results WHERE target_id = ?)")
        params.append(target)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    (count,) = con.execute(f"SELECT count(*) FROM response_cache{clause}", params).fetchone() or (
        0,
    )
    con.execute(f"DELETE FROM response_cache{clause}", params)
    return int(count)
