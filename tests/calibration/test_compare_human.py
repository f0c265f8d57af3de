"""`evalkit compare` and the compare page show each side's human verdict: a regression
whose candidate output a reviewer marked pass says so, in every output format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.calibration.conftest import judged_suite, label
from tests.graders.judge.conftest import Cli, JudgeWorkspace


def test_a_regression_a_human_passed_says_so_everywhere(
    ws: JudgeWorkspace, cli: Cli, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    judged_suite(ws, {"a": True, "b": True, "c": True})
    ws.plan()
    assert cli("run")[0] == 0
    judged_suite(ws, {"a": False, "b": False, "c": True})  # the judge now fails a and b
    assert cli("run", "--no-cache")[0] == 1
    runs = [str(r[0]) for r in ws.sql("SELECT run_id FROM runs ORDER BY started_at")]
    label(ws, runs[1], [("a", None, True)], reviewer="ana", note="<b>fine</b> on reread")
    label(ws, runs[0], [("b", None, True)], reviewer="bo")

    md, js = tmp_path / "summary.md", tmp_path / "compare.json"
    code, out = cli("compare", runs[0], runs[1], "--markdown", str(md), "--json", str(js))
    assert code == 0, out
    assert "judged/a@sut · human: candidate pass (ana)" in out
    assert "judged/b@sut · human: base pass (bo)" in out
    assert "judged/a@sut` · human: candidate pass (ana)" in md.read_text()
    human = json.loads(js.read_text())["comparison"]["human"]
    assert human["candidate"]["judged/a@sut"] == {
        "passed": True,
        "labels": 1,
        "reviewers": ["ana"],
        "notes": ["<b>fine</b> on reread"],
    }
    assert list(human["base"]) == ["judged/b@sut"]

    page_path = tmp_path / "compare.html"
    assert cli("report", "--compare", runs[0], runs[1], "--out", str(page_path))[0] == 0
    page = browse(page_path)
    regressed = page.locator("#regressed article").filter(has_text="judged/a@sut")
    assert "human pass" in regressed.inner_text()
    assert "<b>fine</b> on reread" in regressed.inner_text()  # the note is text, not markup
    assert page.locator("#regressed article b", has_text="fine").count() == 0
    assert "reviewed by ana (1)" in page.locator("#run-candidate").inner_text()
    who = ws.sql("SELECT created_by FROM runs WHERE run_id = ?", [runs[0]])[0][0]
    assert who and f"by {who}" in page.locator("#run-base").inner_text()  # who ran it
