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


def test_a_rerun_uses_the_current_code_of_python_targets_and_graders(
    tmp_path: Path, monkeypatch: object
) -> None:
    import pytest

    from evalkit.cli import invoke
    from evalkit.engine.preflight import python_target_files
    from evalkit.graders.discovery import load_all
    from evalkit.workspace import load_plans

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    root = tmp_path / "ws"
    for folder in ("suites", "evals", "graders"):
        (root / folder).mkdir(parents=True)
    (root / "suites" / "s.yaml").write_text(
        "name: s\ncases:\n  - id: c\n    vars: {question: q}\n    graders: [{type: says-v}]\n"
    )
    (root / "evals" / "p.yaml").write_text(
        "name: p\nsuites: [suites/*.yaml]\n"
        "targets:\n  - id: local\n    provider: python\n    function: app/bot.py:answer\n"
    )
    (root / "app").mkdir()
    (root / "app" / "helper.py").write_text("VERSION = 'v1'\n")
    bot = root / "app" / "bot.py"
    bot.write_text(
        "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent))\n"
        "import helper\n\ndef answer(case):\n    return helper.VERSION\n"
    )
    grader = root / "graders" / "says.py"
    grader.write_text(
        "from evalkit.graders import grader\n\n"
        "@grader('says-v')\ndef says_v(output, case, params):\n    return output.text == 'v1'\n"
    )
    monkeypatch.chdir(root)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    load_all(root)
    (plan,) = load_plans(root, None)
    assert python_target_files(plan) == [bot.resolve()]
    codes: list[int] = []

    def once() -> int:
        codes.append(invoke(["run"]))
        if len(codes) == 1:  # edit the target's helper module and the grader
            (root / "app" / "helper.py").write_text("VERSION = 'v2'\n")
            touch_later(grader, grader.read_text().replace("'v1'", "'v2'"), delay=0.1)
        return codes[-1]

    out = io.StringIO()
    watch_loop(
        root, once, Console(file=out), interval=0.05, max_runs=2, extra=lambda: [bot.resolve()]
    )
    assert codes == [0, 0]  # the second run answered v2 AND graded against v2
