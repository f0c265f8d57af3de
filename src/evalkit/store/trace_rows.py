"""A recorded run as OpenTelemetry export needs it: the run, its trials, their grades."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb

from evalkit.store.rows import dict_rows

_TRIALS = """
SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch, r.status,
       r.score, r.error_kind, r.error, r.latency_ms, r.input_tokens, r.output_tokens,
       r.cost_usd, r.cached, r.attempts, r.started_at, r.finished_at,
       r.metadata->>'model' AS response_model,
       t.provider, t.config->>'model' AS model
FROM results r
LEFT JOIN run_targets t
  ON t.run_id = r.run_id AND t.target_id = r.target_id
 AND t.prompt_id IS NOT DISTINCT FROM r.prompt_id
WHERE r.run_id = ?
ORDER BY r.started_at NULLS LAST, r.trial_id
"""
_GRADES = """
SELECT trial_id, idx, grader, metric, status, score, passed, reason, weight, threshold
FROM grades WHERE run_id = ? ORDER BY trial_id, idx
"""
BATCH = 500  # trials read per round trip: a big run is sent as it is read


def run_header(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run's plan, status, start and end."""
    rows = dict_rows(
        con.execute(
            "SELECT run_id, plan, status, started_at, finished_at, git_sha, labels "
            "FROM runs WHERE run_id = ?",
            [run_id],
        )
    )
    return rows[0] if rows else {}


def trace_trials(con: duckdb.DuckDBPyConnection, run_id: str) -> Iterator[dict[str, Any]]:
    """Every trial of the run with its target's provider and model, and its grades."""
    grades: dict[str, list[dict[str, Any]]] = {}
    for grade in dict_rows(con.cursor().execute(_GRADES, [run_id])):
        grades.setdefault(grade["trial_id"], []).append(grade)
    cursor = con.cursor().execute(_TRIALS, [run_id])
    names = [column[0] for column in cursor.description or []]
    while batch := cursor.fetchmany(BATCH):
        for values in batch:
            row = dict(zip(names, values, strict=True))
            row["grades"] = grades.get(row["trial_id"], [])
            yield row
