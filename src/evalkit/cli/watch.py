"""`evalkit run --watch`: the local prompt-iteration loop.

Polls modification times rather than using OS file events: no extra dependency,
works the same on every filesystem, and half a second is fast enough for a human.
The response cache makes unchanged trials free on every re-run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from evalkit.errors import EvalkitError
from evalkit.workspace.root import GRADER_DIR, PLAN_DIR, SUITE_DIR

WATCHED_SUFFIXES = {
    ".yaml",
    ".yml",
    ".j2",
    ".jinja",
    ".txt",
    ".md",
    ".py",
    ".csv",
    ".jsonl",
    ".json",
}


def snapshot(root: Path) -> dict[Path, float]:
    """Modification times of every file a run depends on."""
    stamps: dict[Path, float] = {}
    for folder in (SUITE_DIR, PLAN_DIR, GRADER_DIR):
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.suffix in WATCHED_SUFFIXES and path.is_file():
                try:
                    stamps[path] = path.stat().st_mtime
                except OSError:
                    continue  # deleted between listing and stat: the next poll sees it
    return stamps


def watch_loop(
    root: Path,
    run_once: Callable[[], int],
    console: Console,
    *,
    interval: float = 0.5,
    max_runs: int | None = None,
) -> int:
    """Run, then run again after every change, until Ctrl-C (or `max_runs`)."""
    code = 0
    runs = 0
    while True:
        before = snapshot(root)
        try:
            code = run_once()
        except EvalkitError as exc:  # a broken file mid-edit: say so and keep watching
            console.print(f"[bold red]error:[/] {exc}")
            code = exc.exit_code
        runs += 1
        if max_runs is not None and runs >= max_runs:
            return code
        console.print(f"[dim]watching {root} for changes (Ctrl-C to stop)[/]")
        try:
            while snapshot(root) == before:
                time.sleep(interval)
        except KeyboardInterrupt:
            return code
        changed = _changed(before, snapshot(root))
        console.rule(f"changed: {', '.join(changed[:3])}" + (" ..." if len(changed) > 3 else ""))


def _changed(before: dict[Path, float], after: dict[Path, float]) -> list[str]:
    paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p.name for p in paths)
