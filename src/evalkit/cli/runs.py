"""`evalkit runs`: the recorded runs, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from evalkit.analysis import summary
from evalkit.cli.console import console, db_path, num, pct, present, text
from evalkit.store.calibration_rows import reviewed_counts
from evalkit.store.db import Store


def command(
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """List recorded runs with their plan, status, git commit and pass rate."""
    with Store.open(db_path(db), read_only=True) as store:
        rows = summary.run_list(store.con, limit)
        reviewed = reviewed_counts(store.con, [str(row["run_id"]) for row in rows])
    if not rows:
        console.print("no runs recorded yet; `evalkit run` records one")
        return 0
    table = Table(header_style="bold")
    columns = ["run", "plan", "status", "started", "git", "by", "trials", "pass rate", "score"]
    for name in columns + ["labels"] + (["reviewed"] if reviewed else []):
        # ids and commits are copied into other commands, numbers read: never cut or wrapped
        table.add_column(
            name,
            no_wrap=name in ("run", "git", "started", "trials", "pass rate", "score"),
            justify="right" if name in ("trials", "pass rate", "score") else "left",
        )
    for row in rows:
        dirty = "*" if present(row["git_dirty"]) and row["git_dirty"] else ""
        # Text cells: a plan, user or label named like `[bold]` is shown, not obeyed
        table.add_row(
            row["run_id"],
            Text(str(row["plan"])),
            row["status"],
            text(row["started_at"])[:19],
            text(row["git_sha"])[:8] + dirty,
            Text(text(row["created_by"])),
            str(row["trials"]),
            pct(row["pass_rate"]),
            num(row["mean_score"]),
            Text(_labels(row["labels"])),
            *([_reviewed(reviewed.get(str(row["run_id"])))] if reviewed else []),
        )
    console.print(table)
    return 0


def _reviewed(counts: tuple[int, int] | None) -> str:
    """(trials, reviewers) -> '12 trials · 2 reviewers'; '' when nobody reviewed the run."""
    if counts is None:
        return ""
    trials, reviewers = counts
    return f"{trials} trials · {reviewers} reviewer{'s' if reviewers != 1 else ''}"


def _labels(raw: object) -> str:
    """{"branch": "main"} -> 'branch=main'."""
    if not present(raw):
        return ""
    try:
        labels = json.loads(str(raw))
    except ValueError:
        return str(raw)
    return " ".join(f"{k}={v}" for k, v in labels.items()) if isinstance(labels, dict) else ""
