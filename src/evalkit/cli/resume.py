"""`evalkit resume [RUN]`: finish an interrupted (or killed) run under the same run id."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from evalkit.cli.console import console, db_path, err_console
from evalkit.cli.limits import MAX_COUNT
from evalkit.cli.progress import make_progress
from evalkit.cli.run import _report
from evalkit.engine.plan import Selection
from evalkit.engine.resume import ResumeRefused
from evalkit.engine.runner import RunObserver
from evalkit.engine.session import RunSettings, execute
from evalkit.graders.discovery import load_all
from evalkit.store.lock import open_when_free, wait_seconds
from evalkit.store.resumable import recorded_run, unfinished_run
from evalkit.workspace import load_plans
from evalkit.workspace.root import find_root


def command(
    run: Annotated[
        str | None,
        typer.Argument(help="A run id or prefix (default: the newest run that did not complete)."),
    ] = None,
    plan: Annotated[
        str | None, typer.Option(help="Without RUN: the newest unfinished run of this plan.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
    failures: Annotated[
        int, typer.Option(min=0, max=MAX_COUNT, help="Failing trials to list after the table.")
    ] = 10,
) -> int:
    """Run the trials an interrupted run did not finish, with the settings it started with."""
    root = find_root(None)
    load_all(root)

    def notify(message: str) -> None:
        err_console.print(f"[yellow]notice:[/] {escape(message)}")

    with open_when_free(db_path(db, root), wait=wait_seconds(), notify=notify) as store:
        run_id = unfinished_run(store.con, run, plan)
        recorded = recorded_run(store.con, run_id)
        if recorded.status == "completed":  # refuse before saying anything about resuming
            raise ResumeRefused(
                f"cannot resume run {run_id}: it already completed",
                hint="start a new run with `evalkit run`",
            )
        (loaded,) = load_plans(root, recorded.plan)

        def progress(remaining: int) -> RunObserver:
            # called once the run has been checked against the workspace as it is now:
            # a refused resume never says it is resuming
            console.print(
                f"resuming run {run_id} ({len(recorded.done)} trials already saved)",
                highlight=False,
            )
            return make_progress(console, loaded.name, remaining)

        outcome = execute(
            loaded,
            store,
            settings_of(recorded.settings),
            observer_factory=progress,
            notify=notify,
            resume_run=run_id,
        )
        _report(store, outcome, failures)
    return outcome.exit_code


def settings_of(recorded: dict[str, Any]) -> RunSettings:
    """The run's own selection and settings, so the same trials are planned again."""
    return RunSettings(
        selection=Selection(
            filters=tuple(recorded.get("filters") or ()),
            tags=tuple(recorded.get("tags") or ()),
            targets=tuple(recorded.get("targets") or ()),
            limit=recorded.get("limit"),
            epochs=recorded.get("epochs"),
        ),
        use_cache=bool(recorded.get("cache", True)),
        concurrency=recorded.get("concurrency"),
        command=shlex.join(["evalkit", *sys.argv[1:]]),
    )
