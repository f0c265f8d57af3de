"""What a resume needs from the database: the run as recorded, and reopening it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from evalkit.errors import UsageError
from evalkit.store.queries import resolve_run

Variant = tuple[str, str | None]


@dataclass(slots=True)
class RecordedRun:
    """A run as the database remembers it: enough to continue it unchanged."""

    run_id: str
    plan: str
    status: str
    suite_hashes: dict[str, str]
    settings: dict[str, Any]
    target_hashes: dict[Variant, str]  # targets that ran (not skipped)
    done: dict[str, str] = field(default_factory=dict)  # trial id -> case hash
    by_status: dict[str, int] = field(default_factory=dict)
    graders: dict[str, Any] = field(default_factory=dict)  # case hash -> graders as stored


def unfinished_run(con: duckdb.DuckDBPyConnection, ref: str | None, plan: str | None) -> str:
    """`ref` resolved to a run id; without one, the newest run that did not complete."""
    if ref is not None:
        return resolve_run(con, ref, plan)
    where = "AND plan = ?" if plan else ""
    row = con.execute(
        f"SELECT run_id FROM runs WHERE status <> 'completed' {where} "
        "ORDER BY started_at DESC, run_id DESC LIMIT 1",
        [plan] if plan else [],
    ).fetchone()
    if row is None:
        scope = f" of plan '{plan}'" if plan else ""
        raise UsageError(
            f"there is no interrupted run{scope} to resume",
            hint="`evalkit runs` lists recorded runs; `evalkit resume RUN` names one",
        )
    return str(row[0])


def recorded_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RecordedRun:
    """The run, its targets' config hashes, and the trials it already saved."""
    row = con.execute(
        "SELECT plan, status, suite_hashes, settings FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    if row is None:
        raise UsageError(f"no run {run_id} in the results database")
    plan, status, suites, settings = row
    targets = con.execute(
        "SELECT target_id, prompt_id, config_hash FROM run_targets "
        "WHERE run_id = ? AND skipped_reason IS NULL",
        [run_id],
    ).fetchall()
    run = RecordedRun(
        run_id=run_id,
        plan=str(plan),
        status=str(status),
        suite_hashes=_json(suites),
        settings=_json(settings),
        target_hashes={(str(t), p): str(h) for t, p, h in targets},
    )
    for trial_id, case_hash, result_status in con.execute(
        "SELECT trial_id, case_hash, status FROM results WHERE run_id = ?", [run_id]
    ).fetchall():
        run.done[str(trial_id)] = str(case_hash)
        run.by_status[str(result_status)] = run.by_status.get(str(result_status), 0) + 1
    for case_hash, graders in con.execute(
        "SELECT case_hash, graders FROM cases WHERE case_hash IN "
        "(SELECT DISTINCT case_hash FROM results WHERE run_id = ?)",
        [run_id],
    ).fetchall():
        run.graders[str(case_hash)] = _json(graders)
    return run


def reopen_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Mark the run `running` again: its remaining trials are about to be added."""
    con.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run_id])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})
