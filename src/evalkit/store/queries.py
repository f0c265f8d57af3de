"""Read helpers over the store. Nothing here writes.

`*_rows` functions return plain dicts (what the CLI prints: no pandas import on the
path of `evalkit run`); `*_frame` functions return pandas DataFrames for the Python
API and for users' notebooks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from evalkit.errors import UsageError
from evalkit.store import counting
from evalkit.store.export import ExportFormat, export_run
from evalkit.store.reporting import output_preview
from evalkit.store.rows import FAILING_REASONS, dict_rows

__all__ = [
    "ExportFormat",
    "export_run",
    "failure_rows",
    "failures_frame",
    "grades_frame",
    "resolve_run",
    "results_frame",
    "run_rows",
    "summary_counts",
]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    import pandas as pd  # only callers who want DataFrames pay for pandas

    return pd.DataFrame(rows, columns=columns)


_LATEST = re.compile(r"^latest(?:~([0-9]+))?$")  # ASCII digits: not `latest~１`
_MAX_ECHO = 200  # longer references are shortened when an error repeats them


def is_latest_ref(ref: str) -> bool:
    """Whether `ref` reads as `latest` or `latest~N` (what a baseline must not be named)."""
    return _LATEST.match(ref.strip()) is not None


def _echo(ref: str) -> str:
    return ref if len(ref) <= _MAX_ECHO else f"{ref[:_MAX_ECHO]}... ({len(ref):,} characters)"


_NEWEST_FIRST = "ORDER BY started_at DESC, run_id DESC"


def resolve_run(con: duckdb.DuckDBPyConnection, ref: str, plan: str | None = None) -> str:
    """A run id from `latest`, `latest~N`, a full id or a unique prefix (within `plan`)."""
    where, params = ("WHERE plan = ?", [plan]) if plan else ("", [])
    scope = f" of plan '{plan}'" if plan else ""
    if not ref.strip():
        raise UsageError(
            f"{ref!r} is not a run reference",
            hint="give a run id, a unique prefix of one, `latest` or `latest~N`",
        )
    latest = _LATEST.match(ref.strip())
    if latest:
        digits = latest[1] or "0"
        if len(digits) > 18:  # past any count of runs, and past DuckDB's BIGINT
            raise _no_match(con, plan, f"there is no run '{ref[:40]}...'{scope}")
        back = int(digits)
        row = con.execute(
            f"SELECT run_id FROM runs {where} {_NEWEST_FIRST} LIMIT 1 OFFSET ?", [*params, back]
        ).fetchone()
        if row is None:
            raise _no_match(con, plan, f"there is no run '{_echo(ref)}'{scope}")
        return str(row[0])
    matches = [
        str(r[0])
        for r in con.execute(
            f"SELECT run_id FROM runs WHERE starts_with(run_id, ?) "
            f"{'AND plan = ?' if plan else ''} {_NEWEST_FIRST}",
            [ref, *params],
        ).fetchall()
    ]
    if ref in matches:
        return ref
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _no_match(con, plan, f"no run{scope} matches '{_echo(ref)}'")
    listed = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
    raise UsageError(
        f"run prefix '{_echo(ref)}' is ambiguous: {len(matches)} runs{scope} match ({listed})",
        hint="type more characters of the run id",
    )


def _no_match(con: duckdb.DuckDBPyConnection, plan: str | None, message: str) -> UsageError:
    where, params = ("WHERE plan = ?", [plan]) if plan else ("", [])
    recent = con.execute(
        f"SELECT run_id, plan FROM runs {where} {_NEWEST_FIRST} LIMIT 5", params
    ).fetchall()
    if not recent:
        return UsageError(f"{message}: no runs recorded yet", hint="run `evalkit run` first")
    listed = "; ".join(f"{run_id} ({name})" for run_id, name in recent)
    return UsageError(
        f"{message}; recent runs: {listed}",
        hint="use a run id, a unique prefix of one, `latest` or `latest~N`",
    )


def run_rows(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` runs with their provenance and counts (rates: analysis.summary)."""
    return dict_rows(_run_query(con, limit))


def _run_query(con: duckdb.DuckDBPyConnection, limit: int) -> duckdb.DuckDBPyConnection:
    return con.execute(
        f"""
        SELECT u.run_id, u.plan, u.status, u.started_at, u.finished_at, u.git_sha,
               u.git_branch, u.git_dirty, u.created_by, u.labels::VARCHAR AS labels,
               u.trials_planned,
               count(r.trial_id) AS trials,
               count(r.trial_id) FILTER (WHERE r.status = 'pass') AS passed,
               count(r.trial_id) FILTER (WHERE r.status = 'fail') AS failed,
               count(r.trial_id) FILTER (WHERE r.status = 'error') AS errors,
               count(r.trial_id) FILTER (WHERE r.status = 'skipped') AS skipped,
               count(r.trial_id) FILTER (WHERE {counting.counted("r.")}) AS graded,
               sum({counting.trial_score("r.")}) FILTER (WHERE {counting.counted("r.")})
                   AS score_sum,
               sum(r.cost_usd) AS cost_usd,
               count(r.trial_id) FILTER (WHERE r.cost_usd IS NULL AND r.status <> 'error'
                                          AND NOT r.cached) AS unpriced
        FROM runs u LEFT JOIN results r USING (run_id)
        GROUP BY ALL
        ORDER BY u.started_at DESC, u.run_id DESC
        LIMIT ?
        """,
        [limit],
    )


def results_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Every trial of a run with its case's inputs, expected answer and tags."""
    return con.execute(
        """
        SELECT r.*, c.vars, c.messages, c.expected, c.context, c.tags,
               c.metadata AS case_metadata, c.cluster, c.location
        FROM results r LEFT JOIN cases c USING (case_hash)
        WHERE r.run_id = ?
        ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
        """,
        [run_id],
    ).df()


def grades_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Every grade of a run, with the trial's suite, case, target, prompt and epoch."""
    return con.execute(
        """
        SELECT g.*, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch
        FROM grades g JOIN results r USING (run_id, trial_id)
        WHERE g.run_id = ?
        ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch, g.idx
        """,
        [run_id],
    ).df()


def summary_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """One row per suite x target x prompt: counts by status, mean score, latency, costs.

    Rates and intervals are analysis's job (`evalkit.analysis.summary`).
    """
    rows = dict_rows(
        con.execute(
            f"""
            SELECT suite, target_id, prompt_id,
                   count(*) AS trials,
                   count(*) FILTER (WHERE status = 'pass') AS passed,
                   count(*) FILTER (WHERE status = 'fail') AS failed,
                   count(*) FILTER (WHERE status = 'error') AS errors,
                   count(*) FILTER (WHERE status = 'skipped') AS skipped,
                   count(*) FILTER (WHERE {counting.counted()}) AS graded,
                   sum({counting.trial_score()}) FILTER (WHERE {counting.counted()}) AS score_sum,
                   quantile_cont(latency_ms, 0.5) AS p50_latency_ms,
                   quantile_cont(latency_ms, 0.95) AS p95_latency_ms,
                   sum(input_tokens) AS input_tokens,
                   sum(output_tokens) AS output_tokens,
                   sum(cost_usd) AS cost_usd,
                   count(*) FILTER (WHERE cost_usd IS NULL AND status <> 'error'
                                      AND NOT cached) AS unpriced,
                   count(*) FILTER (WHERE cached) AS cached
            FROM results WHERE run_id = ?
            GROUP BY suite, target_id, prompt_id
            ORDER BY suite, target_id, prompt_id NULLS FIRST
            """,
            [run_id],
        )
    )
    return rows


def failures_frame(
    con: duckdb.DuckDBPyConnection, run_id: str, limit: int | None = None
) -> pd.DataFrame:
    """`failure_rows` as a DataFrame; ``frame.attrs["total"]`` counts them all."""
    rows, total = failure_rows(con, run_id, limit)
    frame = _frame(rows, FAILURE_COLUMNS)
    frame.attrs["total"] = total
    return frame


FAILURE_COLUMNS = [
    "trial_id", "suite", "case_id", "target_id", "prompt_id", "epoch", "status",
    "score", "error_kind", "error", "output", "reasons",
]  # fmt: skip


def failure_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    limit: int | None = None,
    *,
    preview: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Failing and erroring trials with their failing grades' reasons, and how many in all.

    `preview`: only the first that many characters of each output (the terminal's list;
    reassembling every long output of a big run would hold all of them at once).
    """
    output = "full_output(r.output, r.output_ref)" if preview is None else output_preview(preview)
    total = con.execute(
        "SELECT count(*) FROM results WHERE run_id = ? AND status IN ('fail', 'error')",
        [run_id],
    ).fetchone()
    params: list[Any] = [run_id, run_id]
    if limit is not None:
        params.append(limit)
    rows = dict_rows(
        con.execute(
            f"""
        WITH {FAILING_REASONS}
        SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch, r.status,
               r.score, r.error_kind, r.error, {output} AS output,
               coalesce(x.reasons, []::VARCHAR[]) AS reasons
        FROM results r LEFT JOIN reasons x USING (trial_id)
        WHERE r.run_id = ? AND r.status IN ('fail', 'error')
        ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
        {"LIMIT ?" if limit is not None else ""}
        """,
            params,
        )
    )
    return rows, int(total[0]) if total else 0


def run_exists(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether a run with exactly this id is recorded."""
    row = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return bool(row and row[0])
