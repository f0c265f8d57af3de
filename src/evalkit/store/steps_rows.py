"""The `steps` table (migration 0007): trajectories of conversation and agent trials.

The writer's batch collects each result's steps here as columns and inserts them with
its results, in the same transaction; the readers below give them back for reports and
`evalkit show`.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from evalkit.records import Step, TrialResult
from evalkit.store.cache import dumps
from evalkit.store.unnest import unnest_select

_STEPS = [
    ("run_id", "VARCHAR"), ("trial_id", "VARCHAR"), ("idx", "INTEGER"), ("turn", "INTEGER"),
    ("role", "VARCHAR"), ("content", "VARCHAR"), ("tool_name", "VARCHAR"),
    ("tool_call_id", "VARCHAR"), ("arguments", "VARCHAR"), ("result", "VARCHAR"),
    ("error", "VARCHAR"), ("latency_ms", "DOUBLE"), ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"), ("cached", "BOOLEAN"),
]  # fmt: skip
_INSERT_STEPS = f"""
INSERT INTO steps
SELECT run_id, trial_id, idx, turn, role, content, tool_name, tool_call_id,
       arguments::JSON, result::JSON, error, latency_ms, input_tokens, output_tokens, cached
FROM ({unnest_select(_STEPS)})
"""


class StepColumns:
    """Steps of a batch of results, column by column."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name, _ in _STEPS}

    def add(self, result: TrialResult) -> None:
        """Queue the steps of one result (none for a one-shot trial)."""
        for idx, step in enumerate(result.output.steps or []):
            row = (
                result.run_id, result.trial_id, idx, step.turn, step.role, step.content,
                step.tool_name, step.tool_call_id,
                None if step.arguments is None else dumps(step.arguments),
                None if step.result is None else dumps(step.result), step.error,
                step.latency_ms, step.input_tokens, step.output_tokens, step.cached,
            )  # fmt: skip
            for column, value in zip(self.columns.values(), row, strict=True):
                column.append(value)

    def insert(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Insert the queued steps (inside the batch's transaction)."""
        if self.columns["run_id"]:
            cur.execute(_INSERT_STEPS, list(self.columns.values()))


def has_steps(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether any trial of `run_id` recorded a trajectory."""
    with con.cursor() as cur:
        row = cur.execute("SELECT 1 FROM steps WHERE run_id = ? LIMIT 1", [run_id]).fetchone()
    return row is not None


def trial_steps(con: duckdb.DuckDBPyConnection, run_id: str, trial_id: str) -> list[Step]:
    """The stored trajectory of one trial, in order (empty for a one-shot trial)."""
    return run_steps(con, run_id, [trial_id]).get(trial_id, [])


def run_steps(
    con: duckdb.DuckDBPyConnection, run_id: str, trial_ids: list[str] | None = None
) -> dict[str, list[Step]]:
    """Stored trajectories of a run by trial id (only `trial_ids` when given)."""
    sql = (
        "SELECT trial_id, turn, role, content, tool_name, tool_call_id, arguments, result, "
        "error, latency_ms, input_tokens, output_tokens, cached FROM steps WHERE run_id = ?"
    )
    params: list[Any] = [run_id]
    if trial_ids is not None:
        sql += " AND trial_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(trial_ids)
    with con.cursor() as cur:
        rows = cur.execute(sql + " ORDER BY trial_id, idx", params).fetchall()
    found: dict[str, list[Step]] = {}
    for trial_id, turn, role, content, name, call_id, args, res, error, ms, i, o, c in rows:
        found.setdefault(trial_id, []).append(
            Step(
                role=role,
                turn=turn,
                content=content,
                tool_name=name,
                tool_call_id=call_id,
                arguments=None if args is None else json.loads(args),
                result=None if res is None else json.loads(res),
                error=error,
                latency_ms=ms,
                input_tokens=i,
                output_tokens=o,
                cached=c,
            )
        )
    return found
