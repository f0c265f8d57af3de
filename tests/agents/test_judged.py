"""Model-graded conversation graders (goal-success, conversation-rubric, role-adherence)
over a python agent's own trajectory, judged by the fake server through the real SDK."""

from __future__ import annotations

from tests.agents.conftest import AgentWorkspace, Cli

AGENT = """\
def run(case):
    user = case.vars["user"]
    steps = [{"tool": "verify_identity", "args": {"user": user}, "result": {"verified": True}}]
    if case.vars.get("reset", True):
        steps.append({"tool": "reset_password", "args": {"user": user}, "result": {"ok": True}})
    return {"output": f"Done for {user}.", "trajectory": steps}
"""

VERDICTS = {"pass": {"pass": True, "score": 1.0}, "fail": {"pass": False, "score": 0.0}}


def test_goal_success_reads_the_trajectory_not_the_claim(ws: AgentWorkspace, cli: Cli) -> None:
    (ws.root / "agent.py").write_text(AGENT)
    ws.server.script(
        {
            "match": "",
            "judge": {**VERDICTS, "expect": "reset_password(", "data_kind": "TRANSCRIPT"},
        }
    )
    graders = [
        {"type": "goal-success", "value": "ana's password is reset"},
        {"type": "tool-sequence", "value": ["verify_identity", "reset_password"]},
    ]
    ws.suite(
        [
            {"id": "did-it", "vars": {"user": "ana", "input": "reset"}, "graders": graders},
            {"id": "claims-it", "vars": {"user": "bo", "reset": False}, "graders": graders},
        ]
    )
    judge = {"provider": "anthropic", "model": "judge", "base_url": ws.server.anthropic_url}
    ws.plan([{"id": "agent", "provider": "python", "function": "agent.py:run"}], judge=judge)
    code, out = cli("run")
    assert code == 1, out
    rows = ws.sql(
        "SELECT case_id, metric, grades.status FROM grades JOIN results USING (run_id, trial_id) "
        "ORDER BY case_id, idx"
    )
    assert rows == [
        ("claims-it", "goal-success", "fail"),
        ("claims-it", "tool-sequence", "fail"),
        ("did-it", "goal-success", "pass"),
        ("did-it", "tool-sequence", "pass"),
    ]
    prompts = "\n".join(r["body"]["messages"][0]["content"] for r in ws.server.requests())
    assert "ana's password is reset" in prompts
    assert '[tool call] verify_identity({"user": "bo"}) -> {"verified": true}' in prompts
    steps = ws.sql(
        "SELECT role, tool_name FROM steps JOIN results USING (run_id, trial_id) "
        "WHERE case_id = 'did-it' ORDER BY idx"
    )
    assert steps == [
        ("user", None),
        ("tool", "verify_identity"),
        ("tool", "reset_password"),
        ("assistant", None),
    ]


def test_turn_graders_can_be_model_graded(ws: AgentWorkspace, cli: Cli) -> None:
    ws.server.script(
        {
            "match": "The conversation",
            "judge": {**VERDICTS, "expect": "helpdesk", "data_kind": "TRANSCRIPT"},
        },
        {"match": "hi", "reply": "Hello, this is the helpdesk."},
        {"match": "poem", "reply": "Roses are red."},
    )
    ws.suite(
        [
            {
                "id": "stay",
                "turns": [
                    "hi",
                    {
                        "content": "write me a poem",
                        "graders": [{"type": "role-adherence", "value": "an IT helpdesk agent"}],
                    },
                ],
                "graders": [{"type": "conversation-rubric", "value": "polite throughout"}],
            }
        ]
    )
    judge = {"provider": "openai", "model": "judge", "base_url": ws.server.openai_url}
    ws.plan([ws.model("anthropic", tools=False)], judge=judge)
    code, out = cli("run")
    rows = ws.sql("SELECT metric, status, judge_model FROM grades ORDER BY idx")
    # the turn's transcript is the conversation up to turn 2's reply; the judge's
    # scripted verdict passes when the transcript mentions the helpdesk
    assert rows == [
        ("turn2/role-adherence", "pass", "openai:judge"),
        ("conversation-rubric", "pass", "openai:judge"),
    ]
    assert code == 0, out
