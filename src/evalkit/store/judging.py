"""What a run's model judge did: its summary, and the reasoning behind each judged grade."""

from __future__ import annotations

import json
from typing import Any

import duckdb


def judge_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    """The run summary's `judge` entry (calls, cache, tokens, cost, position bias), if any."""
    row = con.execute("SELECT summary FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if not row or row[0] is None:
        return None
    summary = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    judge = summary.get("judge") if isinstance(summary, dict) else None
    return judge if isinstance(judge, dict) else None


def judged_grades(
    con: duckdb.DuckDBPyConnection, run_id: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Every grade a judge gave in the run: trial, metric, status, score, reasoning, flakiness."""
    cursor = con.execute(
        f"""
        SELECT trial_id, metric, status, score, reasoning, flakiness, judge_model
        FROM grades
        WHERE run_id = ? AND judge_model IS NOT NULL
        ORDER BY trial_id, idx
        {"LIMIT ?" if limit is not None else ""}
        """,
        [run_id] if limit is None else [run_id, limit],
    )
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
