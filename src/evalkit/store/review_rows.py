"""What a human review reads: a run's trials with their cases, and every grade.

Rows come back as plain dicts with JSON columns decoded; `evalkit.review.queue` turns
them into queue items. Nothing here writes (labels are written by `store.labels`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

from evalkit.store.rows import dict_rows

# The stable review order: the same command lists the same trials in the same order,
# which is what lets a review be resumed and a spreadsheet be matched back.
TRIAL_ORDER = "r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch, r.trial_id"

_JSON_COLUMNS = ("vars", "messages", "expected", "context", "output_data", "metadata")


def trial_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, *, failing: bool = False
) -> list[dict[str, Any]]:
    """The run's trials that were not skipped (JSON columns decoded), in review order."""
    where = ["r.run_id = ?", "r.status <> 'skipped'"]
    params: list[Any] = [run_id]
    if failing:
        where.append("r.status IN ('fail', 'error')")
    # The output comes from the `trials` view: it gives the whole text even where the
    # store keeps a large output out of line.
    cursor = con.execute(
        f"""
        SELECT r.run_id, r.trial_id, r.case_hash, r.suite, r.case_id, r.target_id,
               r.prompt_id, r.epoch, r.status, r.passed, r.score, t.output,
               r.output_data::VARCHAR AS output_data, r.error_kind, r.error,
               r.metadata::VARCHAR AS metadata, c.vars::VARCHAR AS vars,
               c.messages::VARCHAR AS messages, c.expected::VARCHAR AS expected,
               c.context::VARCHAR AS context, c.location
        FROM results r
        JOIN trials t ON t.run_id = r.run_id AND t.trial_id = r.trial_id
        LEFT JOIN cases c ON c.case_hash = r.case_hash
        WHERE {" AND ".join(where)}
        ORDER BY {TRIAL_ORDER}
        """,
        params,
    )
    rows = dict_rows(cursor)
    for row in rows:
        for column in _JSON_COLUMNS:
            raw = row.get(column)
            row[column] = json.loads(raw) if isinstance(raw, str) else raw
    return rows


def grade_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Every grade of the run, by trial and position."""
    cursor = con.execute(
        """
        SELECT trial_id, idx, grader, metric, status, score, passed, reason, threshold,
               reasoning, judge_model, flakiness
        FROM grades WHERE run_id = ?
        ORDER BY trial_id, idx
        """,
        [run_id],
    )
    return dict_rows(cursor)


def known_runs(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> set[str]:
    """Those of `run_ids` that are recorded."""
    if not run_ids:
        return set()
    rows = con.execute(
        "SELECT run_id FROM runs WHERE list_contains(?, run_id)", [list(run_ids)]
    ).fetchall()
    return {str(row[0]) for row in rows}
