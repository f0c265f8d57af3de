"""The counts a run's outcome (its exit code) is decided by: read from the store, so a
resumed run is judged on all of its trials, not only the ones this process ran."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from evalkit.records import NO_JUDGE

# Error kinds that say the harness could not reach the system under test at all: a
# wrong key or a dead endpoint is an infrastructure failure, not a worse model.
INFRA_KINDS = ("auth", "connection")


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """How a run's recorded trials and grades ended."""

    trials: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0  # trials whose every grade was skipped
    infra_errors: int = 0  # errored trials of an INFRA_KINDS kind
    skipped_grades: int = 0  # grades skipped because no judge could run (NO_JUDGE)
    trials_with_skipped_grades: int = 0


def outcome_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> OutcomeCounts:
    """Count the run's trials by status and its skipped grades."""
    kinds = ", ".join(f"'{kind}'" for kind in INFRA_KINDS)
    row = con.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE status = 'pass'),
               count(*) FILTER (WHERE status = 'fail'),
               count(*) FILTER (WHERE status = 'error'),
               count(*) FILTER (WHERE status = 'skipped'),
               count(*) FILTER (WHERE status = 'error' AND error_kind IN ({kinds}))
        FROM results WHERE run_id = ?
        """,
        [run_id],
    ).fetchone()
    grades = con.execute(
        "SELECT count(*), count(DISTINCT trial_id) FROM grades "
        "WHERE run_id = ? AND status = 'skipped' AND starts_with(reason, ?)",
        [run_id, NO_JUDGE],
    ).fetchone()
    assert row is not None and grades is not None
    trials, passed, failed, errors, skipped, infra = (int(v or 0) for v in row)
    return OutcomeCounts(
        trials, passed, failed, errors, skipped, infra, int(grades[0]), int(grades[1])
    )
