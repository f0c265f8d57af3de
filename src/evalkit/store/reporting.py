"""Read queries behind the HTML reports and the trend: a run's trials and breakdowns,
and the history of pass rates per suite x target. Nothing here writes.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from evalkit.store.rows import dict_rows

# Grade metadata keys under which a model-graded grader leaves its reasoning.
REASONING_KEYS = ("reasoning", "judge_reasoning", "rationale", "explanation")


def _json(value: Any) -> Any:
    """DuckDB hands JSON columns back as text; decode them for the page."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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
    header["labels"] = _json(header["labels"]) or {}
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
        config = _json(row.pop("config"))
        row["model"] = config.get("model") if isinstance(config, dict) else None
    return rows


def metric_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per grader metric x target: counts and mean score."""
    rows = dict_rows(
        con.execute(
            """
            SELECT g.metric, any_value(g.grader) AS grader, r.target_id, r.prompt_id,
                   count(*) AS grades,
                   count(*) FILTER (WHERE g.status = 'pass') AS passed,
                   count(*) FILTER (WHERE g.status IN ('pass', 'fail')) AS graded,
                   count(*) FILTER (WHERE g.status = 'error') AS errors,
                   avg(g.score) AS mean_score
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
            """
            SELECT t.tag, r.target_id, r.prompt_id, count(*) AS trials,
                   count(*) FILTER (WHERE r.status = 'pass') AS passed,
                   count(*) FILTER (WHERE r.status IN ('pass', 'fail', 'error')) AS graded,
                   avg(r.score) AS mean_score
            FROM results r JOIN cases c USING (case_hash), unnest(c.tags) AS t(tag)
            WHERE r.run_id = ?
            GROUP BY t.tag, r.target_id, r.prompt_id
            ORDER BY t.tag, r.target_id, r.prompt_id NULLS FIRST
            """,
            [run_id],
        )
    )
    return rows


def trial_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Every trial with its case's inputs and expected answer, and its grades."""
    trials = dict_rows(
        con.execute(
            """
            SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch,
                   r.status, r.score, full_output(r.output, r.output_ref) AS output,
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
        meta = _json(metadata)
        grades.setdefault(trial_id, []).append(
            {"metric": metric, "status": status, "score": score, "reason": reason or "",
             "reasoning": reasoning or _reasoning(meta), "judge": judge,
             # the conversation turn a per-turn grader judged (transcripts place it there)
             "turn": meta.get("turn") if isinstance(meta, dict) else None}
        )  # fmt: skip
    for trial in trials:
        for key in ("vars", "messages", "expected", "output_data", "conversation"):
            trial[key] = _json(trial[key])
        trial["tags"] = list(trial["tags"] or [])
        trial["grades"] = grades.get(trial["trial_id"], [])
    return trials


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
                   count(*) FILTER (WHERE r.status IN ('pass', 'fail', 'error')) AS graded,
                   avg(r.score) AS mean_score,
                   stddev_samp(r.score) AS sd_score,
                   count(r.score) AS scored
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


def known_plans(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Plan names that have recorded runs."""
    return [str(r[0]) for r in con.execute("SELECT DISTINCT plan FROM runs ORDER BY 1").fetchall()]
