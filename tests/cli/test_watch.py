"""`--watch`: run again when a file a run depends on changes, and keep going on errors."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

from rich.console import Console

from evalkit.cli.watch import watch_loop
from evalkit.errors import ConfigError


def make_workspace(root: Path) -> Path:
    for folder in ("suites", "evals", "graders"):
        (root / folder).mkdir()
    suite = root / "suites" / "a.yaml"
    suite.write_text("name: a\n")
    return suite


def touch_later(path: Path, text: str, delay: float = 0.2) -> None:
    def edit() -> None:
        path.write_text(text)
        later = time.time() + 5  # a distinct mtime even on coarse-grained filesystems
        os.utime(path, (later, later))

    threading.Timer(delay, edit).start()


def test_an_edit_triggers_another_run(tmp_path: Path) -> None:
    suite = make_workspace(tmp_path)
    runs: list[str] = []

    def once() -> int:
        runs.append(suite.read_text())
        if len(runs) == 1:
            touch_later(suite, "name: b\n")
        return 0

    out = io.StringIO()
    code = watch_loop(tmp_path, once, Console(file=out), interval=0.05, max_runs=2)
    assert code == 0
    assert runs == ["name: a\n", "name: b\n"]
    assert "changed: a.yaml" in out.getvalue()


def test_a_broken_file_is_reported_and_watching_goes_on(tmp_path: Path) -> None:
    suite = make_workspace(tmp_path)
    calls = 0

    def once() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            touch_later(suite, "name: fixed\n")
            raise ConfigError("suites/a.yaml:1:1 name: broken")
        return 0

    out = io.StringIO()
    code = watch_loop(tmp_path, once, Console(file=out), interval=0.05, max_runs=2)
    assert calls == 2 and code == 0
    assert "suites/a.yaml:1:1 name: broken" in out.getvalue()
