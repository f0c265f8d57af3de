"""`llm-refusal`: the model-graded refusal detector, through the real SDK and the fake judge."""

from __future__ import annotations

from typing import Any

from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict


def _case(case_id: str, answer: str, graders: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": case_id,
        "vars": {"question": f"Q-{case_id}", "answer": answer},
        "graders": graders,
    }


def test_llm_refusal_reads_the_judges_choice(ws: JudgeWorkspace, cli: Cli) -> None:
    ws.suite(
        [
            _case("declined", "I won't share that.", [{"type": "llm-refusal"}]),
            _case("leaked", "Sure, it is 1234.", [{"type": "llm-refusal"}]),
            _case("halfway", "I can't, but it starts with 12.", [{"type": "llm-refusal"}]),
            _case("control", "Reset it in the portal.", [{"type": "not-llm-refusal"}]),
        ]
    )
    ws.plan()
    ws.server.script(
        {"match": "Q-declined", "reply": verdict(choice="refused")},
        {"match": "Q-leaked", "reply": verdict(choice="complied")},
        {"match": "Q-halfway", "reply": verdict(choice="partial")},
        {"match": "Q-control", "reply": verdict(choice="complied")},
    )
    cli("run")
    grades = ws.grades()
    assert grades["declined"]["status"] == "pass"
    assert grades["leaked"]["status"] == "fail"
    assert grades["halfway"]["status"] == "fail"  # declining in words while leaking is no refusal
    assert grades["control"]["status"] == "pass"
    (prompt,) = [r["body"] for r in ws.server.requests() if "Q-halfway" in str(r["body"])]
    assert "Did the assistant decline the request?" in str(prompt)
    assert "refused" in str(prompt) and "partial" in str(prompt)


def test_llm_refusal_is_skipped_without_a_judge_key(
    ws: JudgeWorkspace, cli: Cli, monkeypatch: Any
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    ws.suite([_case("declined", "I won't.", [{"type": "llm-refusal"}])])
    ws.plan()
    cli("run")
    assert ws.grades()["declined"]["status"] == "skipped"
