"""Read queries behind the HTML reports and the trend: a run's trials and breakdowns,
and the history of pass rates per suite x target. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

import duckdb

from evalkit.store import counting
from evalkit.store.rows import dict_rows, json_value

# Grade metadata keys under which a model-graded grader leaves its reasoning.
REASONING_KEYS = ("reasoning", "judge_reasoning", "rationale", "explanation")


def run_header(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run's provenance row (plan, status, times, git, labels)."""
    rows = dict_rows(
        con.execute(
            "SELECT run_id, plan, status, started_at, finished_at, git_sha, git_branch, "
            "git_dirty, created_by, hostname, labels, evalkit_version, command "
            "FROM runs WHERE run_id = ?",
            [run_id],
        )
    )
    header = rows[0]
    header["labels"] = json_value(header["labels"]) or {}
    return header


def run_targets(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The run's targets: provider, model, config hash, and why any was skipped."""
    rows = dict_rows(
        con.execute(
            "SELECT target_id, prompt_id, provider, config::VARCHAR AS config, config_hash, "
            "skipped_reason FROM run_targets WHERE run_id = ? "
            "ORDER BY target_id, prompt_id NULLS FIRST",
            [run_id],
        )
    )
    for row in rows:
        config = json_value(row.pop("config"))
        row["model"] = config.get("model") if isinstance(config, dict) else None
    return rows


def metric_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per grader metric x target: counts and mean score."""
    rows = dict_rows(
        con.execute(
            f"""
            SELECT g.metric, any_value(g.grader) AS grader, r.target_id, r.prompt_id,
                   count(*) AS grades,
                   count(*) FILTER (WHERE g.status = 'pass') AS passed,
                   count(*) FILTER (WHERE {counting.counted_grade("g.")}) AS graded,
                   count(*) FILTER (WHERE g.status = 'error') AS errors,
                   count(*) FILTER (WHERE g.status = 'skipped') AS skipped,
                   sum({counting.grade_score("g.")}) FILTER (WHERE {counting.counted_grade("g.")})
                       AS score_sum
            FROM grades g JOIN results r USING (run_id, trial_id)
            WHERE g.run_id = ?
            GROUP BY g.metric, r.target_id, r.prompt_id
            ORDER BY g.metric, r.target_id, r.prompt_id NULLS FIRST
            """,
            [run_id],
        )
    )
    return rows


def tag_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per case tag x target: trials, passes, graded (an error is graded, not passed)."""
    rows = dict_rows(
        con.execute(
            f"""
            SELECT t.tag, r.target_id, r.prompt_id, count(*) AS trials,
                   count(*) FILTER (WHERE r.status = 'pass') AS passed,
                   count(*) FILTER (WHERE {counting.counted("r.")}) AS graded,
                   sum({counting.trial_score("r.")}) FILTER (WHERE {counting.counted("r.")})
                       AS score_sum
            FROM results r JOIN cases c USING (case_hash), unnest(c.tags) AS t(tag)
            WHERE r.run_id = ?
            GROUP BY t.tag, r.target_id, r.prompt_id
            ORDER BY t.tag, r.target_id, r.prompt_id NULLS FIRST
            """,
            [run_id],
        )
    )
    return rows


def output_preview(chars: int) -> str:
    """SQL for the first `chars` characters of `r`'s output, read from its first stored
    part when it is stored out of line: never the whole text (see trial_rows)."""
    n = int(chars)
    return (
        f"CASE WHEN r.output_ref IS NULL THEN left(r.output, {n}) "
        f"ELSE (SELECT left(l.text, {n}) FROM large_texts l "
        "WHERE l.text_hash = r.output_ref AND l.part = 0) END"
    )


def trial_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, preview: int = 4000
) -> list[dict[str, Any]]:
    """Every trial with its case's inputs and expected answer, and its grades.

    `output` is the first `preview` characters only, and `output_chars` its full length:
    reassembling every output stored in parts (store/large_texts.py) would hold a whole
    run's text at once.
    """
    trials = dict_rows(
        con.execute(
            f"""
            SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch,
                   r.status, r.score,
                   {output_preview(preview)} AS output,
                   CASE WHEN r.output_ref IS NULL THEN length(r.output)
                        ELSE (SELECT sum(length(l.text)) FROM large_texts l
                              WHERE l.text_hash = r.output_ref)
                   END AS output_chars,
                   r.output_data::VARCHAR AS output_data,
                   r.error_kind, r.error, r.latency_ms, r.cost_usd, r.cached,
                   c.vars::VARCHAR AS vars, c.messages::VARCHAR AS messages,
                   c.expected::VARCHAR AS expected, c.tags,
                   c.conversation::VARCHAR AS conversation
            FROM results r LEFT JOIN cases c USING (case_hash)
            WHERE r.run_id = ?
            ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
            """,
            [run_id],
        )
    )
    grades: dict[str, list[dict[str, Any]]] = {}
    cursor = con.execute(
        "SELECT trial_id, metric, status, score, reason, reasoning, judge_model, "
        "metadata::VARCHAR FROM grades WHERE run_id = ? ORDER BY trial_id, idx",
        [run_id],
    )
    for trial_id, metric, status, score, reason, reasoning, judge, metadata in cursor.fetchall():
        meta = json_value(metadata)
        grades.setdefault(trial_id, []).append(
            {"metric": metric, "status": status, "score": score, "reason": reason or "",
             "reasoning": reasoning or _reasoning(meta), "judge": judge,
             # the conversation turn a per-turn grader judged (transcripts place it there)
             "turn": meta.get("turn") if isinstance(meta, dict) else None}
        )  # fmt: skip
    for trial in trials:
        for key in ("vars", "messages", "expected", "output_data", "conversation"):
            trial[key] = json_value(trial[key])
        trial["tags"] = list(trial["tags"] or [])
        trial["grades"] = grades.get(trial["trial_id"], [])
    return trials


def trial_output(con: duckdb.DuckDBPyConnection, run_id: str, trial_id: str) -> str | None:
    """One trial's whole output text (None: no such trial, or it produced none)."""
    row = con.execute(
        "SELECT full_output(output, output_ref) FROM results WHERE run_id = ? AND trial_id = ?",
        [run_id, trial_id],
    ).fetchone()
    return None if row is None else row[0]


def trial_exists(con: duckdb.DuckDBPyConnection, run_id: str, trial_id: str) -> bool:
    """Whether `run_id` has a trial `trial_id`."""
    row = con.execute(
        "SELECT count(*) FROM results WHERE run_id = ? AND trial_id = ?", [run_id, trial_id]
    ).fetchone()
    return bool(row and row[0])


def _reasoning(metadata: Any) -> str | None:
    """Reasoning a grader left in its metadata (graders older than the `reasoning` column)."""
    if not isinstance(metadata, dict):
        return None
    return next((str(metadata[k]) for k in REASONING_KEYS if metadata.get(k)), None)


def history_rows(
    con: duckdb.DuckDBPyConnection, plan: str | None, last: int
) -> list[dict[str, Any]]:
    """Per finished run x suite x target: counts, mean and sd of scores, the target's
    config hash; the newest `last` runs of each plan, oldest first.

    Only `completed` runs count: a running or interrupted run's numbers are partial.
    """
    where = "AND u.plan = ?" if plan else ""
    params: list[Any] = [*([plan] if plan else []), last]
    return dict_rows(
        con.execute(
            f"""
            WITH recent AS (
                SELECT run_id, plan, started_at, git_sha,
                       row_number() OVER (PARTITION BY plan ORDER BY started_at DESC, run_id DESC)
                           AS back
                FROM runs u WHERE status = 'completed' {where}
            )
            SELECT u.plan, u.run_id, u.started_at, u.git_sha, r.suite, r.target_id,
                   r.prompt_id, any_value(t.config_hash) AS config_hash,
                   count(*) FILTER (WHERE r.status = 'pass') AS passed,
                   count(*) FILTER (WHERE {counting.counted("r.")}) AS graded,
                   sum({counting.trial_score("r.")}) FILTER (WHERE {counting.counted("r.")})
                       AS score_sum,
                   stddev_samp({counting.trial_score("r.")}) FILTER (WHERE {counting.counted("r.")})
                       AS sd_score,
                   count(*) FILTER (WHERE {counting.counted("r.")}) AS scored
            FROM recent u JOIN results r USING (run_id)
            LEFT JOIN run_targets t ON t.run_id = r.run_id AND t.target_id = r.target_id
                 AND t.prompt_id IS NOT DISTINCT FROM r.prompt_id
            WHERE u.back <= ?
            GROUP BY ALL
            ORDER BY u.plan, r.suite, r.target_id, r.prompt_id NULLS FIRST,
                     u.started_at, u.run_id
            """,
            params,
        )
    )


def history_case_rows(
    con: duckdb.DuckDBPyConnection, plan: str | None, last: int
) -> list[dict[str, Any]]:
    """Per finished run x suite x target x case: passed, graded and mean score, for the
    same runs as `history_rows` (the trend rule pairs each case with itself)."""
    where = "AND u.plan = ?" if plan else ""
    params: list[Any] = [*([plan] if plan else []), last]
    return dict_rows(
        con.execute(
            f"""
            WITH recent AS (
                SELECT run_id, plan,
                       row_number() OVER (PARTITION BY plan ORDER BY started_at DESC, run_id DESC)
                           AS back
                FROM runs u WHERE status = 'completed' {where}
            )
            SELECT u.run_id, r.suite, r.target_id, r.prompt_id, r.case_id,
                   count(*) FILTER (WHERE r.status = 'pass') AS passed,
                   count(*) FILTER (WHERE r.status IN ('pass', 'fail', 'error')) AS graded,
                   avg(coalesce(r.score, 0)) FILTER (WHERE r.status IN ('pass', 'fail', 'error'))
                       AS mean_score
            FROM recent u JOIN results r USING (run_id)
            WHERE u.back <= ?
            GROUP BY ALL
            ORDER BY ALL
            """,
            params,
        )
    )


def known_plans(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Plan names that have recorded runs."""
    return [str(r[0]) for r in con.execute("SELECT DISTINCT plan FROM runs ORDER BY 1").fetchall()]
