"""Reading two runs' cases, with their grades and clusters, for `evalkit.analysis.compare`."""

from __future__ import annotations

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
class CaseColumns:
    """Both runs' cases side by side, summed over their counted epochs by DuckDB.

    One row per suite x case x target x prompt that either run has, in case order
    (suite, case, target, prompt). `columns` are numpy arrays, one value per row:

    - `variant`: index into `variants`, the sorted (suite, target, prompt) the runs have;
    - `case_id`; `cluster`: a 64-bit hash of the case's cluster (the candidate's, else
      the base's), 0 for none; `same`: both runs have it, with one content hash;
    - per run, prefixed `b_` (base) and `c_` (candidate): `trials` (counted: pass,
      fail, error; 0 where the run has none), `passed`, `total` and `squares` of the
      trial scores (an error scores 0), and per grade metric `metrics[i]`: `v{i}` the
      sum over epochs of the metric's value, `n{i}` the epochs with a value, `p{i}` /
      `q{i}` the epochs whose flag passed / that have a flag, `h{i}` whether any
      counted epoch has the metric. Two graders reporting one metric in a trial count
      as one value (their mean) and one flag (passed only if both pass); error and
      skipped grades are left out.

    `differing` lists each (suite, case) that only one run has, or whose content
    changed between them: (suite, case, "added" | "removed" | "changed")."""

    variants: list[tuple[str, str, str | None]]
    columns: dict[str, Any]
    metrics: list[str]
    differing: list[tuple[str, str, str]]


def case_columns(con: duckdb.DuckDBPyConnection, base: str, candidate: str) -> CaseColumns:
    """`CaseColumns` of two runs: a few aggregations in DuckDB, numbers fetched as arrays.

    Strings are what cost when 100,000 rows reach Python: only the case id comes as
    text; variants and clusters come as 64-bit hashes (variants checked for collisions
    against their names)."""
    runs = {"base": base, "cand": candidate}
    metrics = [
        str(m)
        for (m,) in con.execute(
            "SELECT DISTINCT metric FROM grades "
            "WHERE run_id IN ($base, $cand) AND status IN ('pass', 'fail') ORDER BY metric",
            runs,
        ).fetchall()
    ]
    params: dict[str, object] = {**runs, **{f"m{i}": m for i, m in enumerate(metrics)}}
    columns = con.execute(_paired_query(len(metrics)), params).fetchnumpy()
    named = con.execute(
        "SELECT DISTINCT suite, target_id, prompt_id, hash(suite, target_id, prompt_id) "
        "FROM results WHERE run_id IN ($base, $cand)",
        runs,
    ).fetchall()
    if len({row[3] for row in named}) != len(named):
        raise StoreError("two suite x target x prompt names share a 64-bit hash; cannot compare")
    order = sorted(named, key=lambda v: (v[0], v[1], v[2] or ""))
    # each row's variant hash -> the variant's place in `order`
    known = np.array([row[3] for row in order], dtype=np.uint64)
    by_hash = np.argsort(known)
    hashes = np.asarray(columns.pop("variant_hash"), dtype=np.uint64)
    found = np.searchsorted(known, hashes, sorter=by_hash)
    columns["variant"] = by_hash[found].astype(np.int64) if len(known) else hashes.astype(np.int64)
    differing = con.execute(_DIFFERING, runs).fetchall()
    return CaseColumns(
        variants=[(str(s), str(t), p) for s, t, p, _ in order],
        columns=columns,
        metrics=metrics,
        differing=[(str(s), str(c), str(how)) for s, c, how in differing],
    )


def _paired_query(metrics: int) -> str:
    counted = counting.counted("r.")
    score = counting.trial_score("r.")
    # per trial: each metric's value (mean of its graders), flag and presence
    per_trial = "".join(
        f""",
            avg(score) FILTER (WHERE metric = $m{i}) AS v{i},
            bool_and(passed) FILTER (WHERE metric = $m{i}) AS f{i},
            bool_or(metric = $m{i}) AS h{i}"""
        for i in range(metrics)
    )
    per_case = "".join(
        f""",
            coalesce(sum(g.v{i}) FILTER (WHERE {counted}), 0.0) AS v{i},
            count(g.v{i}) FILTER (WHERE {counted}) AS n{i},
            count(*) FILTER (WHERE g.f{i} AND {counted}) AS p{i},
            count(g.f{i}) FILTER (WHERE {counted}) AS q{i},
            coalesce(bool_or(g.h{i}) FILTER (WHERE {counted}), false) AS h{i}"""
        for i in range(metrics)
    )
    sums = ["trials", "passed", "total", "squares"] + [
        f"{x}{i}" for i in range(metrics) for x in "vnpqh"
    ]
    both = ", ".join(
        f"coalesce({side}.{col}, {'false' if col.startswith('h') else '0'}) AS {side}_{col}"
        for side in ("b", "c")
        for col in sums
    )
    return f"""
        WITH g AS (
            SELECT run_id, trial_id{per_trial}
            FROM grades WHERE run_id IN ($base, $cand) AND status IN ('pass', 'fail')
            GROUP BY run_id, trial_id
        ),
        s AS (
            SELECT r.run_id = $cand AS cand, r.suite, r.case_id, r.target_id, r.prompt_id,
                   any_value(r.case_hash) AS hash, any_value(nullif(c.cluster, '')) AS cluster,
                   count(*) FILTER (WHERE {counted}) AS trials,
                   count(*) FILTER (WHERE r.status = 'pass') AS passed,
                   coalesce(sum({score}) FILTER (WHERE {counted}), 0.0) AS total,
                   coalesce(sum(({score}) * ({score})) FILTER (WHERE {counted}), 0.0) AS squares
                   {per_case}
            FROM results r
            LEFT JOIN cases c USING (case_hash)
            LEFT JOIN g USING (run_id, trial_id)
            WHERE r.run_id IN ($base, $cand)
            GROUP BY r.run_id, r.suite, r.case_id, r.target_id, r.prompt_id
        ),
        b AS (FROM s WHERE NOT cand),
        c AS (FROM s WHERE cand)
        SELECT hash(coalesce(b.suite, c.suite), coalesce(b.target_id, c.target_id),
                    coalesce(b.prompt_id, c.prompt_id)) AS variant_hash,
               coalesce(b.case_id, c.case_id) AS case_id,
               CASE WHEN coalesce(c.cluster, b.cluster) IS NULL THEN 0::UBIGINT
                    ELSE hash(coalesce(c.cluster, b.cluster)) END AS cluster,
               coalesce(b.hash = c.hash, false) AS same,
               {both}
        FROM b FULL JOIN c
          ON b.suite = c.suite AND b.case_id = c.case_id AND b.target_id = c.target_id
         AND b.prompt_id IS NOT DISTINCT FROM c.prompt_id
        ORDER BY coalesce(b.suite, c.suite), coalesce(b.case_id, c.case_id),
                 coalesce(b.target_id, c.target_id), coalesce(b.prompt_id, c.prompt_id, '')
    """


# (suite, case) in one run only, or with another content hash in the other; skipped
# trials count here: a case's content hash pairs it whatever its trials did
_DIFFERING = """
    WITH h AS (
        SELECT run_id = $cand AS cand, suite, case_id, any_value(case_hash) AS hash
        FROM results WHERE run_id IN ($base, $cand)
        GROUP BY run_id, suite, case_id
    )
    SELECT coalesce(b.suite, c.suite), coalesce(b.case_id, c.case_id),
           CASE WHEN b.hash IS NULL THEN 'added' WHEN c.hash IS NULL THEN 'removed'
                ELSE 'changed' END
    FROM (FROM h WHERE NOT cand) b FULL JOIN (FROM h WHERE cand) c USING (suite, case_id)
    WHERE b.hash IS DISTINCT FROM c.hash
    ORDER BY 1, 2
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
