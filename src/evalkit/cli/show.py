"""`evalkit show RUN`: a recorded run's summary and its failing trials."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from evalkit.analysis import summary
from evalkit.analysis.calibration_history import kappa_line, reviewed_line
from evalkit.cli.console import console, db_path
from evalkit.cli.limits import MAX_COUNT
from evalkit.cli.stats import detectable_drop_line
from evalkit.cli.summary import judge_line, print_failures, print_reasoning, summary_table
from evalkit.errors import UsageError
from evalkit.reports.transcript import compact_lines
from evalkit.store import queries, reporting
from evalkit.store.calibration_rows import label_counts, run_calibration
from evalkit.store.db import Store
from evalkit.store.judging import judge_summary, judged_grades
from evalkit.store.steps_rows import run_steps

_WHEN = ("plan", "status", "started_at", "finished_at")
_WHO = ("git_sha", "git_branch", "git_dirty", "created_by", "evalkit_version")


def command(
    run: Annotated[str, typer.Argument(help="A run id, id prefix, `latest` or `latest~N`.")] = (
        "latest"
    ),
    failures: Annotated[
        int, typer.Option(min=0, max=MAX_COUNT, help="How many failing trials to list.")
    ] = 50,
    reasoning: Annotated[
        bool, typer.Option(help="Show the judge's reasoning for every model-graded grade.")
    ] = False,
    trial: Annotated[
        str | None,
        typer.Option(help="Print this trial's whole output instead (reports show a preview)."),
    ] = None,
    trajectory: Annotated[
        list[str] | None,
        typer.Option(
            help="Print this trial's trajectory (conversation turns and tool calls); "
            "repeatable. Failing trials' trajectories are printed anyway."
        ),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Show a run: where it came from, its table per suite x target, and why trials failed."""
    with Store.open(db_path(db), read_only=True) as store:
        run_id = queries.resolve_run(store.con, run)
        if trial is not None:
            return _print_output(store, run_id, trial)
        header = reporting.run_header(store.con, run_id)
        plan, status, started, finished = (header[k] for k in _WHEN)
        sha, branch, dirty, who, version = (header[k] for k in _WHO)
        labels = json.dumps(header["labels"])
        commit = (
            f"{sha[:10]}{' (dirty)' if dirty else ''} on {branch or 'a detached HEAD'}"
            if sha
            else "not a git repository"
        )
        console.print(f"[bold]run {run_id}[/] · plan {escape(plan)} · {status}")
        console.print(
            f"started {started} · finished {finished or '-'} · by {who or '?'}", markup=False
        )
        console.print(
            f"{'git ' if sha else ''}{commit} · evalkit {version} · labels {labels}", markup=False
        )
        if reviewers := label_counts(store.con, run_id):
            console.print(reviewed_line(reviewers), markup=False)
        rows = summary.summary_rows(store.con, run_id)
        console.print(summary_table(rows, "", console.width))
        if drops := detectable_drop_line(store.con, run_id):
            console.print(drops, style="dim", markup=False)
        failing, total = queries.failure_rows(store.con, run_id, failures, preview=200)
        print_failures(console, failing, total, failures)
        wanted = [*(trajectory or []), *(str(r["trial_id"]) for r in failing[:failures])]
        print_trajectories(store.con, run_id, list(dict.fromkeys(wanted)), set(trajectory or []))
        judge = judge_line(judge_summary(store.con, run_id))
        if judge:
            console.print(judge, markup=False)
        for metric, entry in run_calibration(store.con, run_id).items():
            line = "judge calibration " + kappa_line(metric, entry)
            console.print(line, style="red" if entry.get("status") == "below" else "", markup=False)
        if reasoning:
            print_reasoning(console, judged_grades(store.con, run_id))
    return 0


def _print_output(store: Store, run_id: str, trial: str) -> int:
    """The whole output text, raw on stdout (pipe it to a file or a pager)."""
    if not reporting.trial_exists(store.con, run_id, trial):
        raise UsageError(
            f"run {run_id} has no trial '{trial}'",
            hint="trial ids look like suite/case@target#epoch; `evalkit export` lists them",
        )
    text = reporting.trial_output(store.con, run_id, trial)
    sys.stdout.write((text or "") + "\n")
    return 0


def print_trajectories(con: Any, run_id: str, trial_ids: list[str], named: set[str]) -> None:
    """One line per step of each trial's trajectory (trials without one are passed over,
    unless `named` on the command line)."""
    found = run_steps(con, run_id, trial_ids)
    for trial_id in trial_ids:
        steps = found.get(trial_id)
        if not steps:
            if trial_id in named:
                console.print(f"{trial_id}: no trajectory recorded", style="dim", markup=False)
            continue
        console.print(Text(f"Trajectory of {trial_id}", style="bold"))
        for line in compact_lines(steps):
            console.print(Text(f"  {line}"), overflow="fold")
