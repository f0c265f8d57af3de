"""`evalkit validate`: check every plan and suite without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalkit.analysis.outcome import plural
from evalkit.cli.console import console, err_console
from evalkit.engine.preflight import preflight
from evalkit.errors import EvalkitError, SpecError
from evalkit.graders.discovery import load_all
from evalkit.workspace import find_plans, load_plans, validate_workspace
from evalkit.workspace.root import SUITE_DIR, find_root


def command(
    path: Annotated[
        Path | None, typer.Argument(help="The workspace (default: found from the current folder).")
    ] = None,
) -> int:
    """Check the workspace's plans, suites and graders; print every problem with its location."""
    root = find_root(path)
    problems: list[str] = []
    try:
        load_all(root)
    except EvalkitError as exc:
        problems.append(str(exc))
    problems.extend(validate_workspace(root))
    if not problems:  # judges are checked once the plans they belong to load
        from evalkit.graders.judge.checks import judge_problems  # imports model SDKs

        plans = load_plans(root)
        problems.extend(judge_problems(root, plans))
        for plan in plans:
            problems.extend(str(SpecError([problem])) for problem in preflight(plan))
    if problems:
        for problem in problems:
            err_console.print(problem, highlight=False, markup=False)
        err_console.print(f"[bold red]{plural(len(problems), 'problem')}[/] in {root}")
        return 4
    suites = sorted((root / SUITE_DIR).rglob("*.y*ml")) if (root / SUITE_DIR).is_dir() else []
    found = f"{plural(len(find_plans(root)), 'plan')} and {plural(len(suites), 'suite')}"
    console.print(f"[green]ok[/]: {found} in {root} are valid")
    return 0
