"""Reading two runs' trials, with their grades and clusters, for `evalkit.analysis.compare`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from evalkit.errors import StoreError
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


@dataclass(frozen=True, slots=True)
class TrialColumns:
    """Both runs' trials and grades as numpy arrays: what a comparison sums per case.

    `trials`, one value per trial of either run, in case order (suite, case, target,
    prompt, epoch):

    - `candidate`: the trial is the candidate run's; `counted`: it passed, failed or
      errored (a skipped trial is left out of every sum, but its case still pairs);
    - `variant`: index into `variants`, the sorted (suite, target, prompt) of the runs;
    - `case_id`; `content`: a 64-bit hash of the case's content hash; `cluster`: of its
      cluster (0 for none);
    - `passed`; `score`: the trial score every mean uses (an error scores 0);
    - `trial`: a 64-bit hash of (run, trial id), which `grades` refer to.

    `grades`, one value per pass/fail grade of either run: `trial`, `metric` (index into
    `metrics`), `value` and `has_value` (its score), `flag` and `has_flag` (passed).
    Hashes keep 200,000 rows numeric: only case ids come back as text."""

    variants: list[tuple[str, str, str | None]]
    metrics: list[str]
    trials: dict[str, Any]
    grades: dict[str, Any]


def trial_columns(con: duckdb.DuckDBPyConnection, base: str, candidate: str) -> TrialColumns:
    """`TrialColumns` of two runs: a few scans, no aggregation (numpy sums them)."""
    runs = {"base": base, "cand": candidate}
    # the grades and the variants are read on a second cursor while the trials are:
    # DuckDB runs without Python's lock
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-compare") as pool:
        others = pool.submit(_grades_and_variants, con.cursor(), runs)
        trials = con.execute(_TRIALS.format(score=counting.trial_score("r.")), runs).fetchnumpy()
        metrics, grades, named = others.result()
    if len({row[3] for row in named}) != len(named):
        raise StoreError("two suite x target x prompt names share a 64-bit hash; cannot compare")
    order = sorted(named, key=lambda v: variant_order((v[0], v[1], v[2])))
    # each trial's variant hash -> the variant's place in `order`
    known = np.array([row[3] for row in order], dtype=np.uint64)
    by_hash = np.argsort(known)
    hashes = np.asarray(trials.pop("variant_hash"), dtype=np.uint64)
    found = np.searchsorted(known, hashes, sorter=by_hash)
    trials["variant"] = by_hash[found].astype(np.int64) if len(known) else hashes.astype(np.int64)
    return TrialColumns(
        variants=[(str(s), str(t), p) for s, t, p, _ in order],
        metrics=metrics,
        trials=trials,
        grades=grades,
    )


def _grades_and_variants(
    con: duckdb.DuckDBPyConnection, runs: dict[str, str]
) -> tuple[list[str], dict[str, Any], list[tuple[Any, ...]]]:
    """The grade metrics, the grades and the (suite, target, prompt, hash) of two runs."""
    try:
        metrics = [
            str(m)
            for (m,) in con.execute(
                "SELECT DISTINCT metric FROM grades "
                "WHERE run_id IN ($base, $cand) AND status IN ('pass', 'fail') ORDER BY metric",
                runs,
            ).fetchall()
        ]
        grades = (
            con.execute(_GRADES, {**runs, "metrics": metrics}).fetchnumpy()
            if metrics  # no pass/fail grade at all: nothing to read (and no list type to bind)
            else {name: np.zeros(0, dtype=dtype) for name, dtype in _NO_GRADES.items()}
        )
        named = con.execute(
            "SELECT DISTINCT suite, target_id, prompt_id, hash(suite, target_id, prompt_id) "
            "FROM results WHERE run_id IN ($base, $cand)",
            runs,
        ).fetchall()
    finally:
        con.close()
    return metrics, grades, named


def variant_order(variant: tuple[str, str, str | None]) -> tuple[str, str, bool, str]:
    """Suite x target x prompt sort by suite, target, then prompt (none first): the order
    of a comparison's groups."""
    return variant[0], variant[1], variant[2] is not None, variant[2] or ""


_TRIALS = """
    SELECT r.run_id = $cand AS candidate,
           r.status IN ('pass', 'fail', 'error') AS counted,
           hash(r.suite, r.target_id, r.prompt_id) AS variant_hash,
           r.case_id,
           hash(r.case_hash) AS content,
           CASE WHEN nullif(c.cluster, '') IS NULL THEN 0::UBIGINT
                ELSE hash(c.cluster) END AS cluster,
           r.status = 'pass' AS passed,
           {score} AS score,
           hash(r.run_id, r.trial_id) AS trial
    FROM results r LEFT JOIN cases c USING (case_hash)
    WHERE r.run_id IN ($base, $cand)
    ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.run_id = $cand,
             r.epoch
"""

_NO_GRADES = {
    "trial": np.uint64,
    "metric": np.int64,
    "value": np.float64,
    "has_value": np.bool_,
    "flag": np.bool_,
    "has_flag": np.bool_,
}
_GRADES = """
    SELECT hash(run_id, trial_id) AS trial,
           list_position($metrics, metric) - 1 AS metric,
           coalesce(score, 0.0) AS value, score IS NOT NULL AS has_value,
           coalesce(passed, false) AS flag, passed IS NOT NULL AS has_flag
    FROM grades WHERE run_id IN ($base, $cand) AND status IN ('pass', 'fail')
"""


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
