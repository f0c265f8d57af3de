"""`evalkit runs`: the recorded runs, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from evalkit.analysis import summary
from evalkit.cli.console import console, db_path, num, pct, present, text
from evalkit.cli.limits import MAX_COUNT
from evalkit.store.calibration_rows import reviewed_counts
from evalkit.store.db import Store


def command(
    limit: Annotated[int, typer.Option(min=1, max=MAX_COUNT, help="How many runs to list.")] = 20,
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
    cells = [_cells(row, reviewed) for row in rows]
    names = [n for n in ORDER if n != "reviewed" or reviewed]
    kept = _fitting(names, cells, console.width)
    table = Table(header_style="bold")
    for name in [n for n in names if n in kept]:
        # ids and commits are copied into other commands, numbers read: never cut or wrapped
        table.add_column(
            name,
            no_wrap=name in NEVER_CUT,
            justify="right" if name in ("trials", "pass rate", "score") else "left",
        )
    for row_cells in cells:
        table.add_row(*(row_cells[n] for n in names if n in kept))
    console.print(table)
    return 0


ORDER = ["run", "plan", "status", "started", "git", "by", "trials", "pass rate", "score",
         "labels", "reviewed"]  # fmt: skip
NEVER_CUT = ("run", "git", "started", "trials", "pass rate", "score", "status")
# Left out first when the terminal is narrow: the run id, its numbers and status stay.
DROP_ORDER = ["reviewed", "labels", "by", "started", "git", "plan"]


def _cells(row: dict[str, Any], reviewed: dict[str, tuple[int, int]]) -> dict[str, str | Text]:
    dirty = "*" if present(row["git_dirty"]) and row["git_dirty"] else ""
    # Text cells: a plan, user or label named like `[bold]` is shown, not obeyed
    return {
        "run": str(row["run_id"]),
        "plan": Text(str(row["plan"])),
        "status": str(row["status"]),
        "started": text(row["started_at"])[:16],
        "git": text(row["git_sha"])[:8] + dirty,
        "by": Text(text(row["created_by"])),
        "trials": str(row["trials"]),
        "pass rate": pct(row["pass_rate"]),
        "score": num(row["mean_score"]),
        "labels": Text(_labels(row["labels"])),
        "reviewed": _reviewed(reviewed.get(str(row["run_id"]))),
    }


def _fitting(names: list[str], cells: list[dict[str, str | Text]], width: int) -> set[str]:
    """The columns that fit `width` whole, dropping the least needed first."""

    def need(name: str) -> int:  # widest cell or header, plus borders and padding
        return max([len(name), *(len(str(c[name])) for c in cells)]) + 3

    kept = set(names)
    for name in DROP_ORDER:
        if sum(min(need(n), 30) for n in kept) + 1 <= width:
            break
        kept.discard(name)
    return kept


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
