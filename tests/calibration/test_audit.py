"""Who ran a run, who reviewed it: `evalkit runs` and `evalkit show` say so."""

from __future__ import annotations

import pytest

from tests.calibration.conftest import judged_suite, label
from tests.graders.judge.conftest import Cli, JudgeWorkspace


def test_runs_and_show_name_the_reviewers(
    ws: JudgeWorkspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no git user anywhere (not a repo, no global config): the login name is recorded
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "[red]eve[/]")
    monkeypatch.setenv("LOGNAME", "[red]eve[/]")
    judged_suite(ws, {"a": True, "b": False, "c": True})
    ws.plan()
    cli("run")
    cli("run")
    first, second = [str(r[0]) for r in ws.sql("SELECT run_id FROM runs ORDER BY started_at")]
    code, out = cli("runs")
    assert code == 0 and "reviewed" not in out  # no labels yet: no column
    assert "[red]eve[/]" in out  # who ran it, printed as written
    label(ws, first, [("a", None, True), ("b", 1, True)], reviewer="ana")
    label(ws, first, [("c", None, False)], reviewer="[bold]bo[/]", minutes=3)
    code, out = cli("runs")
    assert "reviewed" in out and "3 trials · 2 reviewers" in out
    code, out = cli("show", first)
    assert "human labels in force: 1 by [bold]bo[/], 2 by ana (last 2026-11-27 08:03 UTC)" in out
    assert "by [red]eve[/]" in out
    code, out = cli("show", second)
    assert "human labels" not in out
