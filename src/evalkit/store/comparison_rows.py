"""Reading a run's trials, with their grades and clusters, for `evalkit.analysis.compare`."""

from __future__ import annotations

import duckdb

from evalkit.records import TrialRow
from evalkit.store import counting


def trial_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[TrialRow]:
    """Every trial of `run_id` with its case's cluster and its grades by metric."""
    rows = con.execute(
        f"""
        WITH g AS (
            SELECT trial_id,
                   list(metric ORDER BY idx) AS metrics,
                   list(score ORDER BY idx) AS scores,
                   list(passed ORDER BY idx) AS passes
            FROM grades WHERE run_id = ? AND status IN ('pass', 'fail')
            GROUP BY trial_id
        )
        SELECT r.suite, r.case_id, r.case_hash, r.target_id, r.prompt_id, r.epoch,
               r.status,
               CASE WHEN {counting.counted("r.")} THEN {counting.trial_score("r.")} END AS score,
               c.cluster, g.metrics, g.scores, g.passes
        FROM results r
        LEFT JOIN cases c USING (case_hash)
        LEFT JOIN g USING (trial_id)
        WHERE r.run_id = ?
        ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
        """,
        [run_id, run_id],
    ).fetchall()
    return [_row(*row) for row in rows]


def _row(
    suite: str,
    case_id: str,
    case_hash: str,
    target_id: str,
    prompt_id: str | None,
    epoch: int,
    status: str,
    score: float | None,
    cluster: str | None,
    metrics: list[str] | None,
    scores: list[float | None] | None,
    passes: list[bool | None] | None,
) -> TrialRow:
    grades: dict[str, list[tuple[float | None, bool | None]]] = {}
    for metric, value, passed in zip(metrics or [], scores or [], passes or [], strict=True):
        grades.setdefault(metric, []).append((value, passed))
    return TrialRow(
        suite=suite,
        case_id=case_id,
        case_hash=case_hash,
        target_id=target_id,
        prompt_id=prompt_id,
        epoch=int(epoch),
        status=status,
        score=None if score is None else float(score),
        cluster=cluster,
        # two graders reporting one metric: their mean score, passed only if both pass
        grades={m: _merge(found) for m, found in grades.items()},
    )


def _merge(found: list[tuple[float | None, bool | None]]) -> tuple[float | None, bool | None]:
    values = [v for v, _ in found if v is not None]
    flags = [p for _, p in found if p is not None]
    return (
        sum(values) / len(values) if values else None,
        all(flags) if flags else None,
    )


def trial_labels(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> list[tuple[str, bool, str, str | None]]:
    """The human labels in force on whole trials of `run_id`: (trial, passed, reviewer, note)."""
    rows = con.execute(
        "SELECT trial_id, passed, reviewer, note FROM human_labels "
        "WHERE run_id = ? AND grade_idx IS NULL ORDER BY trial_id",
        [run_id],
    ).fetchall()
    return [(str(r[0]), bool(r[1]), str(r[2]), r[3]) for r in rows]
