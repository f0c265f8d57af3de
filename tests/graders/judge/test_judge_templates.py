"""Judge templates from the workspace: a reworded built-in, and a grader made in YAML."""

from __future__ import annotations

import textwrap

from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict

TONE = textwrap.dedent(
    """\
    # a team's own grader, no code: `type: classify, template: tone`
    prompt_text: "HOUSE-TONE: is the reply friendly, neutral or hostile?"
    choices: {friendly: 1.0, neutral: 0.6, hostile: 0.0}
    system: You grade customer-support replies for tone.
    prompt: |
      {{ question }}
      {{ output }}
      {{ prompt_text }} Choose one of {{ choices | join(", ") }}.
    verdict:
      type: object
      properties:
        reasoning: {type: string}
        choice: {type: string}
      required: [reasoning, choice]
    """
)


def _templates(ws: JudgeWorkspace) -> None:
    folder = ws.root / "graders" / "templates"
    folder.mkdir(parents=True)
    (folder / "tone.yaml").write_text(TONE)
    (folder / "llm-rubric.yaml").write_text(
        TONE.replace("prompt_text:", "unused:")
        .replace(
            '{{ prompt_text }} Choose one of {{ choices | join(", ") }}.',
            "HOUSE-RUBRIC {{ rubric }}",
        )
        .replace("choice: {type: string}", "pass: {type: boolean}\n    score: {type: number}")
        .replace("[reasoning, choice]", "[reasoning, pass, score]")
    )


def test_workspace_templates_win_and_make_new_graders(ws: JudgeWorkspace, cli: Cli) -> None:
    _templates(ws)
    ws.suite(
        [
            {"id": "kind", "vars": {"question": "Q-kind?", "answer": "Happy to help!"},
             "graders": [{"type": "classify", "template": "tone"}]},
            {"id": "ruled", "vars": {"question": "Q-ruled?", "answer": "Hi"},
             "graders": [{"type": "llm-rubric", "value": "greets"}]},
        ]
    )  # fmt: skip
    ws.plan()
    ws.server.script(
        {"match": "Q-kind", "reply": verdict(choice="neutral")},
        {"match": "Q-ruled", "reply": verdict(score=1, **{"pass": True})},
    )
    code, out = cli("run")
    assert code == 0, out
    grades = ws.grades()
    assert grades["kind"]["score"] == 0.6 and grades["kind"]["metadata"]["choice"] == "neutral"
    requests = ws.server.requests()
    kind = next(r for r in requests if "Q-kind?" in r["last_user"])
    ruled = next(r for r in requests if "Q-ruled?" in r["last_user"])
    assert "HOUSE-TONE" in kind["last_user"] and "friendly, neutral, hostile" in kind["last_user"]
    assert kind["system"].startswith("You grade customer-support replies for tone.")
    schema = kind["body"]["tools"][0]["input_schema"]
    assert schema["properties"]["choice"]["enum"] == ["friendly", "neutral", "hostile"]
    assert "HOUSE-RUBRIC greets" in ruled["last_user"]


def test_a_broken_workspace_template_is_an_error_naming_its_file(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    folder = ws.root / "graders" / "templates"
    folder.mkdir(parents=True)
    (folder / "llm-rubric.yaml").write_text("system: x\nprompt: '{{ output }}'\n")
    ws.suite(
        [
            {
                "id": "a",
                "vars": {"question": "Q-a?", "answer": "x"},
                "graders": [{"type": "llm-rubric", "value": "r"}],
            }
        ]
    )
    ws.plan()
    code, _out = cli("run")
    assert code == 1
    (reason,) = ws.sql("SELECT reason FROM grades")[0]
    assert "llm-rubric.yaml" in reason and "lacks verdict" in reason
    assert ws.server.request_count() == 0
