"""Transcripts: in the run report and side by side in the compare page (real Chromium),
and the compact trajectory of `evalkit show`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.agents.conftest import AgentWorkspace, Cli
from tests.reports.conftest import browse  # noqa: F401  (fixture)

Browse = Callable[[Path], Any]

CASE = {
    "id": "reset",
    "turns": [
        {
            "content": "Reset the password for <b>ana</b>",
            "graders": [{"type": "no-tool", "value": "reset_password", "before": "lookup_ticket"}],
        },
        "Thanks!",
    ],
    "graders": [{"type": "tool-called", "value": "lookup_ticket"}],
}


def _script(ws: AgentWorkspace, first: str, second: str) -> None:
    ws.server.script(
        {
            "match": "Reset the password",
            "steps": [
                {"tool_calls": [{"name": first, "arguments": {"user": "ana", "ticket_id": "T-1"}}]},
                {
                    "tool_calls": [
                        {"name": second, "arguments": {"user": "ana", "ticket_id": "T-1"}}
                    ]
                },
                {"text": "Done, <i>ana</i>."},
            ],
        },
        {"match": "Thanks", "reply": "You're welcome."},
    )


def _two_runs(ws: AgentWorkspace, cli: Cli) -> tuple[str, str]:
    ws.suite([CASE])
    ws.plan([ws.model("anthropic")])
    _script(ws, "reset_password", "lookup_ticket")  # the wrong order: fails
    assert cli("run")[0] == 1
    _script(ws, "lookup_ticket", "reset_password")
    ws.suite([CASE])
    assert cli("run", "--no-cache")[0] == 0
    # turn 2 went to Claude as native messages: turn 1's tool calls and results included
    last = ws.server.requests()[-1]["body"]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user",
                                         "assistant", "user"]  # fmt: skip
    assert [b["type"] for b in last[1]["content"]] == ["tool_use"]
    assert [b["type"] for b in last[2]["content"]] == ["tool_result"]
    assert last[5]["content"] == [{"type": "text", "text": "Done, <i>ana</i>."}]
    assert last[6]["content"] == [{"type": "text", "text": "Thanks!"}]
    runs = ws.sql("SELECT run_id FROM runs ORDER BY started_at")
    return str(runs[0][0]), str(runs[1][0])


def test_transcripts_in_the_run_and_compare_pages(
    ws: AgentWorkspace,
    cli: Cli,
    browse: Browse,  # noqa: F811
    tmp_path: Path,
) -> None:
    base, cand = _two_runs(ws, cli)
    report = tmp_path / "run.html"
    assert cli("report", base, "--out", str(report))[0] == 0
    compare = tmp_path / "compare.html"
    assert cli("report", "--compare", base, cand, "--out", str(compare))[0] == 0

    page = browse(report)
    page.locator("tr.trial").first.click()
    steps = page.locator("ol.transcript li.step")
    texts = [steps.nth(i).inner_text() for i in range(steps.count())]
    assert texts[0].startswith("user · turn 1") and "<b>ana</b>" in texts[0]  # text, not markup
    assert texts[1].startswith("⚙ reset_password")
    assert texts[2].startswith("⚙ lookup_ticket")
    # the turn's grade sits under turn 1's final reply, the whole conversation's at the end
    assert "Done, <i>ana</i>." in texts[3] and "turn1/no-tool" in texts[3]
    assert "reset_password called before lookup_ticket" in texts[3]
    assert len(texts) == 7
    assert texts[-1].startswith("whole conversation") and "tool-called" in texts[-1]
    assert page.locator("ol.transcript b").count() == 2  # the two metric names: no injected tags

    page = browse(compare)
    sides = page.locator("article.case .side > div")
    assert sides.count() == 2
    base_side, cand_side = sides.nth(0).inner_text(), sides.nth(1).inner_text()
    assert base_side.index("⚙ reset_password") < base_side.index("⚙ lookup_ticket")
    assert cand_side.index("⚙ lookup_ticket") < cand_side.index("⚙ reset_password")
    assert "turn1/no-tool" in base_side and "fail" in base_side


def test_show_prints_the_trajectory_of_failing_trials(ws: AgentWorkspace, cli: Cli) -> None:
    ws.suite([CASE])
    ws.plan([ws.model("openai")])
    _script(ws, "reset_password", "lookup_ticket")
    assert cli("run")[0] == 1
    code, out = cli("show")
    assert code == 0, out
    assert "Trajectory of agent/reset@openai#0" in out
    lines = [line.strip() for line in out.splitlines()]
    start = lines.index("Trajectory of agent/reset@openai#0")
    assert lines[start + 1] == "t1 › user: Reset the password for <b>ana</b>"
    assert lines[start + 2].startswith('t1 ⚙ reset_password({"user": "ana", "ticket_id": "T-1"})')
    # the model passed an argument the function does not take: the error it was told
    assert lines[start + 2].endswith(
        "→ ✗ TypeError: reset_password() got an unexpected keyword argument 'ticket_id'"
    )
    assert lines[start + 6] == "t2 ‹ assistant: You're welcome."
