"""Multi-turn cases and simulated users: native messages for the chat SDKs, the history
for python, http and command targets, graders per turn and over the whole conversation."""

from __future__ import annotations

import json
import sys

from tests.agents.conftest import AgentWorkspace, Cli

THREE_TURNS = {
    "id": "details",
    "turns": [
        {"content": "I can't log in.", "graders": [{"type": "icontains", "value": "ticket"}]},
        "My ticket is T-1042.",
        {
            "content": "What was my ticket again?",
            "graders": [{"type": "icontains", "value": "T-1042"}],
        },
    ],
    "graders": [{"type": "knowledge-retention", "value": "T-1042", "turn": 3}],
}

AGENT = """\
def reply(case, request):
    said = [m.content for m in request.messages if m.role == "user"]
    if len(said) == 1:
        return "Sorry to hear that. What is your ticket number?"
    if "again" in said[-1]:
        known = [w.strip(".") for s in said for w in s.split() if w.startswith("T-")]
        return f"Your ticket is {known[0]}." if known else "I don't know."
    return f"Thanks, noted ({len(request.messages)} messages so far)."
"""


def test_turns_send_native_history_and_grade_each_turn(ws: AgentWorkspace, cli: Cli) -> None:
    ws.server.script(
        {"match": "log in", "reply": "Sorry! What is your ticket number?"},
        {"match": "T-1042", "reply": "Thanks, I see the ticket."},
        {"match": "again", "reply": "I do not remember."},  # forgot: turn 3 fails
    )
    ws.suite([THREE_TURNS])
    ws.plan([ws.model("openai", tools=False)])
    code, out = cli("run")
    assert code == 1, out
    last = ws.server.requests()[-1]["body"]["messages"]
    assert [(m["role"], m["content"]) for m in last] == [
        ("user", "I can't log in."),
        ("assistant", "Sorry! What is your ticket number?"),
        ("user", "My ticket is T-1042."),
        ("assistant", "Thanks, I see the ticket."),
        ("user", "What was my ticket again?"),
    ]
    grades = ws.sql("SELECT metric, status, metadata->>'turn' FROM grades ORDER BY idx")
    assert grades == [
        ("turn1/icontains", "pass", "1"),
        ("turn3/icontains", "fail", "3"),  # the model forgot the ticket
        ("knowledge-retention", "fail", None),
    ]
    (stored,) = ws.sql("SELECT conversation FROM cases")
    turns_json = json.loads(stored[0])["turns"]
    assert [t["content"] for t in turns_json][2] == "What was my ticket again?"
    assert turns_json[2]["graders"][0]["name"] == "icontains"
    turns = ws.sql("SELECT turn, role FROM steps ORDER BY idx")
    assert turns == [(1, "user"), (1, "assistant"), (2, "user"), (2, "assistant"),
                     (3, "user"), (3, "assistant")]  # fmt: skip


def test_python_target_gets_the_history(ws: AgentWorkspace, cli: Cli) -> None:
    (ws.root / "agent.py").write_text(AGENT)
    ws.suite([THREE_TURNS])
    ws.plan([{"id": "py", "provider": "python", "function": "agent.py:reply"}])
    code, out = cli("run")
    assert code == 0, out
    replies = ws.sql("SELECT content FROM steps WHERE role = 'assistant' ORDER BY idx")
    assert replies == [
        ("Sorry to hear that. What is your ticket number?",),
        ("Thanks, noted (3 messages so far).",),
        ("Your ticket is T-1042.",),
    ]


def test_http_and_command_targets_get_the_history(ws: AgentWorkspace, cli: Cli) -> None:
    echo = ws.root / "echo.py"
    echo.write_text(
        "import json, os, sys\n"
        "history = json.loads(os.environ['EVALKIT_MESSAGES'])\n"
        'print(f"{len(history)} messages, last: {sys.stdin.read()}")\n'
    )
    ws.suite(
        [
            {
                "id": "two",
                "turns": ["first", "second"],
                "graders": [{"type": "contains", "value": "second"}],
            }
        ]
    )
    ws.plan(
        [
            {
                "id": "web",
                "provider": "http",
                "url": ws.server.echo_url,
                "body": '{"prompt": {{ prompt }}, "history": {{ messages }}}',
                "output_path": "json.history",
            },
            {"id": "cmd", "provider": "command", "command": [sys.executable, str(echo)]},
        ]
    )
    code, out = cli("run")
    assert code == 0, out
    rows = ws.sql(
        "SELECT r.target_id, s.content FROM steps s JOIN results r USING (run_id, trial_id) "
        "WHERE s.role = 'assistant' AND s.turn = 2 ORDER BY r.target_id"
    )
    assert rows[0] == ("cmd", "3 messages, last: second")
    history = json.loads(rows[1][1])
    assert [m["content"] for m in history] == ["first", history[1]["content"], "second"]
    assert history[1]["role"] == "assistant"


def test_simulated_user_played_by_a_model_stops_at_its_marker(ws: AgentWorkspace, cli: Cli) -> None:
    # The user model (anthropic) and the assistant under test (openai) on one fake server:
    # the user model's last "user" message is the assistant's reply.
    ws.server.script(
        {"match": "conversation starts", "reply": "Hi, I need my password reset. I'm ana."},
        {"match": "identity", "reply": "My date of birth is 1990-01-01."},
        {"match": "has been reset", "reply": "GOAL-DONE thanks"},
        {"match": "password reset", "reply": "Sure. Please confirm your identity first."},
        {"match": "1990", "reply": "Thanks ana, your password has been reset."},
    )
    ws.suite(
        [
            {
                "id": "reset",
                "user": {
                    "persona": "Ana, in a hurry",
                    "goal": "get the password reset",
                    "max_turns": 5,
                    "stop_when": "GOAL-DONE",
                },
                "graders": [{"type": "icontains", "value": "has been reset"}],
            }
        ]
    )
    user = {"provider": "anthropic", "model": "user-model", "base_url": ws.server.anthropic_url}
    ws.plan([ws.model("openai", tools=False)], simulated_user=user)
    code, out = cli("run")
    assert code == 0, out
    steps = ws.sql("SELECT turn, role, content FROM steps ORDER BY idx")
    assert steps == [
        (1, "user", "Hi, I need my password reset. I'm ana."),
        (1, "assistant", "Sure. Please confirm your identity first."),
        (2, "user", "My date of birth is 1990-01-01."),
        (2, "assistant", "Thanks ana, your password has been reset."),
    ]
    (stopped,) = ws.sql("SELECT metadata->>'stopped_by' FROM results")
    assert stopped == ("user",)
    user_calls = [r for r in ws.server.requests() if r["api"] == "anthropic"]
    assert len(user_calls) == 3
    assert "get the password reset" in user_calls[0]["system"]
    assert "GOAL-DONE" in user_calls[0]["system"]
    # the user model sees the conversation from its side
    roles = [m["role"] for m in user_calls[-1]["body"]["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]


def test_simulated_user_stops_at_max_turns_a_grader_or_the_assistant(
    ws: AgentWorkspace, cli: Cli
) -> None:
    ws.server.script({"match": "", "replies": ["more please"]})
    user = {"provider": "openai", "model": "user-model", "base_url": ws.server.openai_url}
    (ws.root / "echo.py").write_text(
        "def reply(case, request):\n"
        "    return 'Goodbye! BYE' if 'leave' in request.prompt else request.prompt\n"
    )
    ws.suite(
        [
            {"id": "chatty", "user": {"goal": "chat", "max_turns": 3, "first": "hello"}},
            {
                "id": "graded-stop",
                "user": {
                    "goal": "chat",
                    "max_turns": 3,
                    "first": "stop here",
                    "stop_when": {"type": "icontains", "value": "stop here"},
                },
            },
            {
                "id": "assistant-ends",
                "user": {"max_turns": 3, "first": "I want to leave", "stop_when": "BYE"},
            },
        ]
    )
    ws.plan([{"id": "py", "provider": "python", "function": "echo.py:reply"}], simulated_user=user)
    cli("run")
    rows = ws.sql(
        "SELECT case_id, metadata->>'stopped_by', metadata->>'turns' FROM results ORDER BY 1"
    )
    assert rows == [
        ("assistant-ends", "assistant", "1"),
        ("chatty", "max_turns", "3"),
        ("graded-stop", "goal", "1"),
    ]
    # the user model was asked for turns 2 and 3 of "chatty" only
    assert ws.server.request_count() == 2
