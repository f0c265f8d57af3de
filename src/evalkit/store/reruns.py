"""Trials of a recorded run by status: what `evalkit run --failed` reruns and what the
pytest plugin reports for each item."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True, slots=True)
class FailedTrials:
    """A run's plan, its epochs, and the ids of its trials that did not pass."""

    run_id: str
    plan: str
    epochs: int
    trial_ids: frozenset[str]


def failed_trials(con: duckdb.DuckDBPyConnection, run_id: str) -> FailedTrials:
    """The trials of `run_id` whose status is fail or error (skipped ones did not run)."""
    plan, epochs = con.execute(
        "SELECT plan, coalesce(TRY_CAST(settings->>'epochs' AS INTEGER), 1) FROM runs "
        "WHERE run_id = ?",
        [run_id],
    ).fetchone() or ("", 1)
    ids = con.execute(
        "SELECT trial_id FROM results WHERE run_id = ? AND status IN ('fail', 'error')",
        [run_id],
    ).fetchall()
    return FailedTrials(run_id, str(plan), int(epochs), frozenset(str(i) for (i,) in ids))


def trial_statuses(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    """Every recorded trial of `run_id` and its status (pass | fail | error | skipped)."""
    rows = con.execute("SELECT trial_id, status FROM results WHERE run_id = ?", [run_id]).fetchall()
    return {str(trial): str(status) for trial, status in rows}
