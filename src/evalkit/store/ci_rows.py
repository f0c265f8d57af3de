"""Reading what the CI reports need: every trial with its failing grades' reasons, the
pass rates and the per-case outcomes the gate checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb

from evalkit.store import counting
from evalkit.store.report_trials import BIG_JOIN, OUTPUT_CHARS, OUTPUT_HEAD, big_outputs
from evalkit.store.rows import failing_reasons_cte

# Characters of each output, error and failing grade's reason the CI reports carry: a
# JUnit failure or a PR comment has no use for a 100 KB text, and the store keeps it.
CI_TEXT = 2_000
BATCH_ROWS = 128  # rows DuckDB converts to Python objects at a time


def trial_report_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    chars: int = CI_TEXT,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[dict[str, Any]]:
    """Every trial of a run, in a stable order (suite, target, prompt, case, epoch), with
    `reasons` from its failing grades; read `batch_rows` at a time.

    `output`, `error` and each reason are cut to `chars` characters in DuckDB, with the
    full lengths in `output_chars` and `error_chars`: the whole texts of a big run
    (20,000 outputs of 100 KB) would not fit in memory.
    """
    n = int(chars)
    with con.cursor() as cur:
        cur.execute(
            f"""
            WITH reasons AS (
                SELECT trial_id,
                       list(metric || ': ' || left(coalesce(nullif(reason, ''), status), {n})
                            ORDER BY idx) AS reasons
                FROM grades WHERE run_id = $run_id AND status IN ('fail', 'error')
                GROUP BY trial_id
            ){big_outputs(n)}
            SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch,
                   r.status, r.score, r.latency_ms, r.error_kind,
                   left(r.error, {n}) AS error, length(r.error) AS error_chars,
                   {OUTPUT_HEAD.format(n=n)} AS output, {OUTPUT_CHARS} AS output_chars,
                   r.started_at, coalesce(x.reasons, []::VARCHAR[]) AS reasons,
                   (c.metadata -> 'security') ->> 'category' AS owasp_category
            FROM results r LEFT JOIN reasons x USING (trial_id)
            LEFT JOIN cases c USING (case_hash)
            {BIG_JOIN}
            WHERE r.run_id = $run_id
            ORDER BY r.suite, r.target_id, r.prompt_id NULLS FIRST, r.case_id, r.epoch
            """,
            {"run_id": run_id},
        )
        names = [column[0] for column in cur.description or []]
        while rows := cur.fetchmany(batch_rows):
            for row in rows:
                yield dict(zip(names, row, strict=True))


def failing_trial_reasons(
    con: duckdb.DuckDBPyConnection, run_id: str, cases: list[str] | None = None
) -> list[tuple[str, list[str], str | None, str]]:
    """(trial id, failing grades' reasons, error, status) of every failed or errored trial
    (of the cases named `suite/case@target[prompt]` in `cases`, when given): what
    `trial_report_rows` says of them, without reading every trial's output."""
    rows = con.execute(
        f"""
        WITH failing AS (
            SELECT trial_id, error, status, suite, target_id, prompt_id, case_id, epoch
            FROM results
            WHERE run_id = ? AND status IN ('fail', 'error')
              -- a trial id is its case's name and #epoch
              AND (?::VARCHAR[] IS NULL
                   OR list_contains(?::VARCHAR[], regexp_replace(trial_id, '#[0-9]+$', '')))
        ),
        {failing_reasons_cte("AND trial_id IN (SELECT trial_id FROM failing)")}
        SELECT f.trial_id, coalesce(x.reasons, []::VARCHAR[]), f.error, f.status
        FROM failing f LEFT JOIN reasons x USING (trial_id)
        ORDER BY f.suite, f.target_id, f.prompt_id NULLS FIRST, f.case_id, f.epoch
        """,
        [run_id, cases, cases, run_id],
    ).fetchall()
    return [(str(r[0]), list(r[1]), r[2], str(r[3])) for r in rows]


def pass_rates(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> dict[tuple[str, str, str | None], tuple[int, int]]:
    """(suite, target, prompt) -> (passed, graded); an error counts as not passed."""
    rows = con.execute(
        f"""
        SELECT suite, target_id, prompt_id,
               count(*) FILTER (WHERE status = 'pass'),
               count(*) FILTER (WHERE {counting.counted()})
        FROM results WHERE run_id = ? GROUP BY ALL ORDER BY ALL
        """,
        [run_id],
    ).fetchall()
    return {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in rows}


def case_pass_counts(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> list[tuple[str, str, str | None, str | None, int, int]]:
    """Per case: (suite, target, prompt, cluster, passed, graded) over its epochs.

    The unit the run table's interval is computed over: an error counts as not
    passed, a skip is left out.
    """
    rows = con.execute(
        """
        SELECT r.suite, r.target_id, r.prompt_id, any_value(c.cluster),
               count(*) FILTER (WHERE r.status = 'pass'),
               count(*) FILTER (WHERE r.status IN ('pass', 'fail', 'error'))
        FROM results r LEFT JOIN cases c USING (case_hash)
        WHERE r.run_id = ?
        GROUP BY r.suite, r.target_id, r.prompt_id, r.case_id
        ORDER BY ALL
        """,
        [run_id],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]


BreakdownCase = tuple[str, str, str | None, str | None, int, int]


def metric_case_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[BreakdownCase]:
    """Per grader metric x target x prompt x case: (metric, target, prompt, cluster,
    passed, graded) over the case's epochs, what the metric breakdown's interval is over."""
    rows = con.execute(
        f"""
        SELECT g.metric, r.target_id, r.prompt_id, any_value(c.cluster),
               count(*) FILTER (WHERE g.status = 'pass'),
               count(*) FILTER (WHERE {counting.counted_grade("g.")})
        FROM grades g JOIN results r USING (run_id, trial_id)
        LEFT JOIN cases c ON c.case_hash = r.case_hash
        WHERE g.run_id = ?
        GROUP BY g.metric, r.target_id, r.prompt_id, r.suite, r.case_id
        ORDER BY ALL
        """,
        [run_id],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]


def tag_case_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[BreakdownCase]:
    """Per case tag x target x prompt x case: (tag, target, prompt, cluster, passed,
    graded) over the case's epochs, what the tag breakdown's interval is over."""
    rows = con.execute(
        f"""
        SELECT t.tag, r.target_id, r.prompt_id, any_value(c.cluster),
               count(*) FILTER (WHERE r.status = 'pass'),
               count(*) FILTER (WHERE {counting.counted("r.")})
        FROM results r JOIN cases c USING (case_hash), unnest(c.tags) AS t(tag)
        WHERE r.run_id = ?
        GROUP BY t.tag, r.target_id, r.prompt_id, r.suite, r.case_id
        ORDER BY ALL
        """,
        [run_id],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]


def case_outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, list[str]]:
    """ "suite/case" -> the statuses of all its trials (every target, prompt and epoch)."""
    rows = con.execute(
        "SELECT suite || '/' || case_id, list(status ORDER BY trial_id) FROM results "
        "WHERE run_id = ? GROUP BY ALL",
        [run_id],
    ).fetchall()
    return {str(r[0]): [str(s) for s in r[1]] for r in rows}


def run_header(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run's plan, status, start, git commit and branch, and labels (JSON text)."""
    cursor = con.execute(
        "SELECT run_id, plan, status, started_at, finished_at, git_sha, git_branch, labels "
        "FROM runs WHERE run_id = ?",
        [run_id],
    )
    names = [column[0] for column in cursor.description or []]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else {}


def case_means(
    con: duckdb.DuckDBPyConnection, run_id: str, metric: str = "pass"
) -> dict[tuple[str, str, str | None], list[float]]:
    """(suite, target, prompt) -> each case's mean over its epochs of `pass` or `score`.

    An error counts as a fail scoring 0, as in the pass rate; skipped trials are left out.
    """
    value = "(status = 'pass')::DOUBLE" if metric == "pass" else counting.trial_score()
    rows = con.execute(
        f"""
        SELECT suite, target_id, prompt_id, list(m ORDER BY case_id) FROM (
            SELECT suite, target_id, prompt_id, case_id, avg({value}) AS m
            FROM results WHERE run_id = ? AND {counting.counted()}
            GROUP BY ALL
        ) GROUP BY ALL ORDER BY suite, target_id, prompt_id NULLS FIRST
        """,
        [run_id],
    ).fetchall()
    return {(r[0], r[1], r[2]): [float(v) for v in r[3]] for r in rows}
