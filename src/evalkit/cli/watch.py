"""`evalkit run --watch`: the local prompt-iteration loop.

Polls modification times rather than using OS file events: no extra dependency,
works the same on every filesystem, and half a second is fast enough for a human.
The response cache makes unchanged trials free on every re-run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
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


def snapshot(root: Path, extra: Iterable[Path] = ()) -> dict[Path, float]:
    """Modification times of every file a run depends on (and of `extra` files: the
    code of python targets, wherever it lives in the workspace)."""
    stamps: dict[Path, float] = {}
    for path in extra:
        try:
            stamps[path] = path.stat().st_mtime
        except OSError:
            stamps[path] = -1.0  # missing now: its return is a change too
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
    extra: Callable[[], Iterable[Path]] = lambda: (),
) -> int:
    """Run, then run again after every change, until Ctrl-C (or `max_runs`).

    Every run after the first forgets the workspace's imported Python (python targets,
    graders and whatever they import), so it runs the code as it is now, exactly like
    a fresh `evalkit run`.
    """
    code = 0
    runs = 0
    while True:
        if runs:
            forget_workspace_modules(root)
        before = snapshot(root, extra())
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
            while snapshot(root, extra()) == before:
                time.sleep(interval)
        except KeyboardInterrupt:
            return code
        changed = _changed(before, snapshot(root, extra()))
        console.rule(f"changed: {', '.join(changed[:3])}" + (" ..." if len(changed) > 3 else ""))


def _changed(before: dict[Path, float], after: dict[Path, float]) -> list[str]:
    paths = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p.name for p in paths)


def forget_workspace_modules(root: Path) -> list[str]:
    """Drop from `sys.modules` every module loaded from the workspace's own files (not
    evalkit's, not an installed package's), so the next import reads them afresh."""
    base = root.resolve()
    gone = []
    for name, module in list(sys.modules.items()):
        if name == "evalkit" or name.startswith("evalkit."):
            continue
        origin = getattr(module, "__file__", None)
        if not origin:
            continue
        path = Path(origin).resolve()
        if base not in path.parents or {"site-packages", ".venv"} & set(path.parts):
            continue
        del sys.modules[name]
        gone.append(name)
    return gone
