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


CaseRow = tuple[str, str, str, str, str | None, str | None, int, int, float, float]
GradeRow = tuple[str, str, str, str | None, str, float, int, int, int]


def case_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[CaseRow]:
    """Per case x target x prompt of `run_id`, summed over its epochs in the database:
    (suite, case, case hash, target, prompt, cluster, trials, passed, score sum, sum of
    squared scores). Skipped trials are not counted (a case of only skipped trials has
    trials 0: its content hash still pairs it); an error scores 0, as in `trial_rows`."""
    score = counting.trial_score("r.")
    counted = counting.counted("r.")
    rows = con.execute(
        f"""
        SELECT r.suite, r.case_id, any_value(r.case_hash), r.target_id, r.prompt_id,
               any_value(nullif(c.cluster, '')),
               count(*) FILTER (WHERE {counted}),
               count(*) FILTER (WHERE r.status = 'pass'),
               coalesce(sum({score}) FILTER (WHERE {counted}), 0.0),
               coalesce(sum(({score}) * ({score})) FILTER (WHERE {counted}), 0.0)
        FROM results r LEFT JOIN cases c USING (case_hash)
        WHERE r.run_id = ?
        GROUP BY r.suite, r.case_id, r.target_id, r.prompt_id
        """,
        [run_id],
    ).fetchall()
    return rows  # DuckDB gives each column the type above


def case_grade_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[GradeRow]:
    """Per case x target x prompt x grade metric of `run_id`, over its counted epochs:
    (suite, case, target, prompt, metric, sum of values, values, flags passed, flags).

    Two graders reporting one metric in a trial count as one value (their mean) and one
    flag (passed only if both pass), as in `trial_rows`; error and skipped grades are
    left out."""
    rows = con.execute(
        f"""
        WITH t AS (
            SELECT trial_id, metric, avg(score) AS value, bool_and(passed) AS flag
            FROM grades WHERE run_id = ? AND status IN ('pass', 'fail')
            GROUP BY trial_id, metric
        )
        SELECT r.suite, r.case_id, r.target_id, r.prompt_id, t.metric,
               coalesce(sum(t.value), 0.0), count(t.value),
               count(*) FILTER (WHERE t.flag), count(t.flag)
        FROM t JOIN results r ON r.run_id = ? AND r.trial_id = t.trial_id
        WHERE {counting.counted("r.")}
        GROUP BY r.suite, r.case_id, r.target_id, r.prompt_id, t.metric
        """,
        [run_id, run_id],
    ).fetchall()
    return rows


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
