"""`evalkit review RUN`: people label trials, in the terminal or in a spreadsheet."""

from __future__ import annotations

import shlex
import statistics
import sys
from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli.console import console, db_path, err_console
from evalkit.cli.limits import MAX_COUNT, MAX_SEED, MIN_SEED
from evalkit.errors import UsageError, WorkspaceError
from evalkit.review.importer import Stamp, plan_import
from evalkit.review.queue import Queue, QueueFilter, load_queue
from evalkit.review.save import LabelSaver
from evalkit.review.spreadsheet import export_sheet, sheet_format
from evalkit.review.state import ReviewState
from evalkit.review.terminal import Ending, LineCommands, TerminalKeys, review_loop
from evalkit.store import queries
from evalkit.store.audit import stamp
from evalkit.store.db import Store
from evalkit.store.lock import wait_seconds
from evalkit.workspace.root import find_root


def command(
    run: Annotated[
        str | None,
        typer.Argument(help="A run id, id prefix, `latest` or `latest~N` (default: latest)."),
    ] = None,
    failing: Annotated[bool, typer.Option("--failing", help="Only failed or errored trials.")] = (
        False
    ),
    disagreements: Annotated[
        bool,
        typer.Option(
            "--disagreements",
            help="Only contested trials: grades split pass/fail, a judge wavered (flakiness), "
            "or a human label differs from the machine.",
        ),
    ] = False,
    grader: Annotated[
        str | None,
        typer.Option(help="Review one grader's grades (by grader or metric name), one by one."),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_COUNT, help="Review N items, chosen reproducibly (see --seed)."
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(min=MIN_SEED, max=MAX_SEED, help="Seed of --sample: same seed, same items."),
    ] = 0,
    suite: Annotated[list[str] | None, typer.Option(help="Only this suite (glob).")] = None,
    target: Annotated[list[str] | None, typer.Option(help="Only this target (glob).")] = None,
    relabel: Annotated[
        bool,
        typer.Option("--all", "--relabel", help="Walk every item, labelled ones included."),
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write the queue to FILE.csv or FILE.xlsx instead."),
    ] = None,
    import_: Annotated[
        Path | None,
        typer.Option("--import", help="Save the verdicts filled in a sheet from --export."),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option(help="Who is labelling (default: git user.name or $USER).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Label a run's trials by hand: accept or override the machine, score, add notes."""
    filters = QueueFilter(
        failing=failing,
        disagreements=disagreements,
        grader=grader,
        sample=sample,
        seed=seed,
        suites=tuple(suite or ()),
        targets=tuple(target or ()),
    )
    path = db_path(db)
    who = _stamp(reviewer)
    if import_ is not None:
        if export is not None or filters != QueueFilter() or run is not None:
            raise UsageError(
                "--import reads the run, trials and grades from the sheet itself",
                hint="give only the file: evalkit review --import FILE",
            )
        return _import(path, import_, who)
    if export is not None:
        sheet_format(export)  # a wrong extension is a usage error before any work
    with Store.open(path, read_only=True) as store:
        run_id = queries.resolve_run(store.con, "latest" if run is None else run)
        queue = load_queue(store.con, run_id, filters)
    if not queue.items:
        console.print(f"nothing to review in run {run_id} ({filters.describe()})", markup=False)
        return 5
    if export is not None:
        written = export_sheet(queue, export)
        console.print(
            f"wrote {written} item(s) of run {run_id} ({filters.describe()}) to {export}; "
            f"fill in verdict/score/note, then: evalkit review --import {shlex.quote(str(export))}",
            markup=False,
        )
        return 0
    again = _again(run_id, filters, reviewer, db)
    return _terminal(queue, path, who, relabel, again)


def _stamp(reviewer: str | None) -> Stamp:
    try:
        root = find_root()
    except WorkspaceError:  # reviewing a database outside any workspace (--db)
        root = Path.cwd()
    made = stamp(root)
    name = (reviewer or "").strip() or made.who_or_unknown
    return Stamp(reviewer=name, at=made.at, git_sha=made.git_sha)


def _import(path: Path, sheet: Path, who: Stamp) -> int:
    with Store.open(path, read_only=True) as store:
        plan = plan_import(store.con, sheet, who)
    if plan.labels:
        LabelSaver(path, wait=wait_seconds(), notify=_notify).save_all(plan.labels)
    console.print(
        f"{sheet}: {len(plan.labels)} labelled, {plan.unchanged} unchanged "
        f"(already in force), {plan.blank} blank (not reviewed); reviewer {who.reviewer}",
        markup=False,
    )
    return 0


def _terminal(queue: Queue, path: Path, who: Stamp, relabel: bool, again: str) -> int:
    state = ReviewState(queue, reviewer=who.reviewer, git_sha=who.git_sha, relabel=relabel)
    total, done = len(queue.items), queue.labelled()
    if done == total and not relabel:
        console.print(
            f"all {total} item(s) of run {queue.run_id} are labelled ({queue.filters.describe()});"
            " --all walks them again",
            markup=False,
        )
        return 0
    if done:
        start = "walking every item (--all)" if relabel else f"starting at item {state.cursor + 1}"
        state.message = f"{done} of {total} already labelled: {start}"
    saver = LabelSaver(path, notify=_notify)
    if sys.stdin.isatty():
        console.set_alt_screen(True)
        console.show_cursor(False)
        try:
            with TerminalKeys(sys.stdin.fileno(), console) as keys:
                ending = review_loop(state, keys, saver, console)
        finally:
            console.show_cursor(True)
            console.set_alt_screen(False)
    else:
        ending = review_loop(state, LineCommands(sys.stdin), saver, console)
    left = total - queue.labelled()
    timing = ""
    if saver.timings:
        timing = f" (a save took {statistics.median(saver.timings) * 1000:.0f} ms)"
    console.print(
        f"saved {state.saved} label(s){timing}; {queue.labelled()} of {total} item(s) labelled",
        markup=False,
    )
    if left:
        console.print(f"to continue: {again}", markup=False)
    return 2 if ending is Ending.INTERRUPTED else 0


def _again(run_id: str, filters: QueueFilter, reviewer: str | None, db: Path | None) -> str:
    """The command that resumes this review: the same queue, at its first unlabelled item."""
    words = ["evalkit", "review", run_id]
    flags = [("--failing", filters.failing), ("--disagreements", filters.disagreements)]
    words += [flag for flag, on in flags if on]
    options = [("--grader", filters.grader), ("--reviewer", reviewer)]
    if filters.sample is not None:
        options += [("--sample", str(filters.sample)), ("--seed", str(filters.seed))]
    options += [("--suite", s) for s in filters.suites] + [("--target", t) for t in filters.targets]
    options.append(("--db", str(db) if db else None))
    for flag, value in options:
        if value is not None:
            words += [flag, value]
    return shlex.join(words)


def _notify(message: str) -> None:
    err_console.print(message, markup=False, highlight=False)
