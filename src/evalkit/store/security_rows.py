"""Read queries behind the security report: attack and control trials, and their history.

A case is a security case when its metadata has a `security` entry (what `evalkit
security generate` writes); its category, strategy, channel and severity come from there.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from evalkit.store.reporting import output_preview
from evalkit.store.rows import FAILING_REASONS, dict_rows

OUTPUT_CHARS = 400  # of each output, for the worst-examples list


def security_trials(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Every trial of a security case in `run_id`, with its `security` metadata decoded and
    the reasons of its failing grades."""
    rows = dict_rows(
        con.execute(
            f"""
            WITH {FAILING_REASONS}
            SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch, r.status,
                   (c.metadata -> 'security')::VARCHAR AS security,
                   {output_preview(OUTPUT_CHARS)} AS output,
                   coalesce(x.reasons, []::VARCHAR[]) AS reasons
            FROM results r JOIN cases c USING (case_hash)
            LEFT JOIN reasons x USING (trial_id)
            WHERE r.run_id = ? AND (c.metadata -> 'security') IS NOT NULL
            ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
            """,
            [run_id, run_id],
        )
    )
    for row in rows:
        row["security"] = json.loads(row["security"]) if row["security"] else {}
        row["reasons"] = list(row["reasons"] or [])
    return rows


def security_history(con: duckdb.DuckDBPyConnection, plan: str, last: int) -> list[dict[str, Any]]:
    """Per completed run of `plan` (the newest `last`, oldest first) x target x category x
    case: attempts graded and attempts that succeeded (`category` is `control` for the
    controls, where a success is a false alarm)."""
    return dict_rows(
        con.execute(
            """
            WITH recent AS (
                SELECT run_id, started_at FROM runs
                WHERE status = 'completed' AND plan = ?
                ORDER BY started_at DESC, run_id DESC LIMIT ?
            )
            SELECT u.run_id, u.started_at, r.target_id, r.prompt_id,
                   coalesce(c.metadata -> 'security' ->> 'category', 'control') AS category,
                   r.suite, r.case_id,
                   count(*) FILTER (WHERE r.status IN ('pass', 'fail')) AS attempts,
                   count(*) FILTER (WHERE r.status = 'fail') AS successes
            FROM recent u JOIN results r USING (run_id) JOIN cases c USING (case_hash)
            WHERE (c.metadata -> 'security') IS NOT NULL
            GROUP BY ALL
            ORDER BY u.started_at, u.run_id, r.target_id, r.prompt_id NULLS FIRST, category,
                     r.suite, r.case_id
            """,
            [plan, last],
        )
    )
