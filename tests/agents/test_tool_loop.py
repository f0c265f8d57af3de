"""The tool loop in both wire formats, through the real SDKs against the fake server."""

from __future__ import annotations

import json

import pytest

from tests.agents.conftest import AgentWorkspace, Cli

LOOKUP_THEN_ANSWER = {
    "match": "T-1042",
    "steps": [
        {"tool_calls": [{"name": "lookup_ticket", "arguments": {"ticket_id": "T-1042"}}]},
        {"text": "Ticket T-1042 is open: Cannot log in."},
    ],
}

GRADERS = [
    {"type": "tool-called", "value": "lookup_ticket", "max": 1},
    {"type": "tool-args", "tool": "lookup_ticket", "args": {"ticket_id": "T-1042"}},
    {"type": "no-tool", "value": "reset_password"},
    {"type": "icontains", "value": "open"},
]


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_tool_loop_runs_workspace_tools_and_stores_every_step(
    ws: AgentWorkspace, cli: Cli, api: str
) -> None:
    ws.server.script(LOOKUP_THEN_ANSWER)
    ws.suite(
        [{"id": "status", "vars": {"input": "What is the status of T-1042?"}, "graders": GRADERS}]
    )
    ws.plan([ws.model(api)])
    code, out = cli("run")
    assert code == 0, out
    steps = ws.sql(
        "SELECT idx, turn, role, content, tool_name, arguments, result, cached "
        "FROM steps ORDER BY idx"
    )
    assert [(s[2], s[4]) for s in steps] == [
        ("user", None),
        ("assistant", None),
        ("tool", "lookup_ticket"),
        ("assistant", None),
    ]
    assert steps[0][3] == "What is the status of T-1042?"
    assert json.loads(steps[2][5]) == {"ticket_id": "T-1042"}
    assert json.loads(steps[2][6])["status"] == "open"
    assert steps[3][3] == "Ticket T-1042 is open: Cannot log in."
    # the second request carried the tool's result back in the API's own format
    second = ws.server.requests()[1]["body"]
    if api == "anthropic":
        assert second["tools"][0]["name"] == "lookup_ticket"
        assert second["tools"][0]["input_schema"]["required"] == ["ticket_id"]
        use = second["messages"][1]["content"][0]
        assert use["type"] == "tool_use" and use["input"] == {"ticket_id": "T-1042"}
        result = second["messages"][2]["content"][0]
        assert result["type"] == "tool_result" and result["tool_use_id"] == use["id"]
        assert '"status": "open"' in result["content"]
    else:
        assert second["tools"][0]["function"]["name"] == "lookup_ticket"
        call = second["messages"][1]["tool_calls"][0]
        assert json.loads(call["function"]["arguments"]) == {"ticket_id": "T-1042"}
        tool = second["messages"][2]
        assert tool["role"] == "tool" and tool["tool_call_id"] == call["id"]
        assert '"status": "open"' in tool["content"]
    (row,) = ws.sql(
        "SELECT status, output, input_tokens > 0, metadata->>'model_calls' FROM results"
    )
    assert row == ("pass", "Ticket T-1042 is open: Cannot log in.", True, "2")
    code, out = cli("export", "--format", "jsonl", "--out", "trials.jsonl")
    assert code == 0, out
    lines = (ws.root / "trials.jsonl").read_text().splitlines()
    (exported,) = [json.loads(line) for line in lines]
    assert [s["role"] for s in exported["steps"]] == ["user", "assistant", "tool", "assistant"]
    assert exported["steps"][2]["tool_name"] == "lookup_ticket"


def test_rerun_of_an_unchanged_conversation_makes_no_model_call(
    ws: AgentWorkspace, cli: Cli
) -> None:
    ws.server.script(LOOKUP_THEN_ANSWER)
    ws.suite([{"id": "status", "vars": {"input": "Status of T-1042?"}, "graders": GRADERS}])
    ws.plan([ws.model("anthropic")])
    assert cli("run")[0] == 0
    assert ws.server.request_count() == 2
    code, out = cli("run")
    assert code == 0, out
    assert ws.server.request_count() == 2  # both calls came from the cache
    rows = ws.sql(
        "SELECT r.cached, count(*) FILTER (WHERE s.cached) FROM results r JOIN steps s "
        "USING (run_id, trial_id) GROUP BY r.run_id, r.cached, r.started_at ORDER BY r.started_at"
    )
    assert rows == [(False, 0), (True, 2)]


def test_scripted_results_errors_and_timeouts_reach_the_model(ws: AgentWorkspace, cli: Cli) -> None:
    ws.server.script(
        {
            "match": "three",
            "steps": [
                {
                    "tool_calls": [
                        {"name": "lookup_ticket", "arguments": {"ticket_id": "T-1"}},
                        {"name": "lookup_ticket", "arguments": {"ticket_id": "T-2"}},
                        {"name": "lookup_ticket", "arguments": {"ticket_id": "T-404"}},
                        {"name": "reset_password", "arguments": {"user": "ana"}},
                    ]
                },
                {"text": "Done."},
            ],
        }
    )
    ws.suite(
        [
            {
                "id": "three",
                "vars": {"input": "Look up three tickets"},
                "tool_results": [
                    {
                        "tool": "lookup_ticket",
                        "args": {"ticket_id": "T-1"},
                        "result": {"status": "closed"},
                    },
                    {"tool": "lookup_ticket", "args": {"ticket_id": "T-2"}, "timeout": True},
                    {"tool": "reset_password", "error": "directory is down"},
                ],
                "graders": [{"type": "tool-called", "value": "lookup_ticket", "min": 3}],
            }
        ]
    )
    ws.plan([ws.model("openai")])
    code, out = cli("run")
    assert code == 0, out
    tools = ws.sql("SELECT result, error FROM steps WHERE role = 'tool' ORDER BY idx")
    assert json.loads(tools[0][0]) == {"status": "closed"}  # scripted, by matching arguments
    assert tools[1] == (None, "tool 'lookup_ticket' timed out")
    assert tools[2][0] is None and "no ticket T-404" in tools[2][1]  # the function raised
    assert tools[3] == (None, "directory is down")
    told = [m for m in ws.server.requests()[1]["body"]["messages"] if m["role"] == "tool"]
    assert [t["content"] for t in told][1:] == [
        "error: tool 'lookup_ticket' timed out",
        "error: KeyError: 'no ticket T-404'",
        "error: directory is down",
    ]


def test_max_steps_bounds_a_looping_model(ws: AgentWorkspace, cli: Cli) -> None:
    loop = {"tool_calls": [{"name": "lookup_ticket", "arguments": {"ticket_id": "T-9"}}]}
    ws.server.script({"match": "loop", "steps": [loop]})
    ws.suite(
        [
            {
                "id": "loop",
                "vars": {"input": "loop forever"},
                "graders": [{"type": "max-steps", "value": 2}],
            }
        ]
    )
    ws.plan([ws.model("anthropic", max_steps=3)])
    code, out = cli("run")
    assert code == 1, out
    assert ws.server.request_count() == 3
    (row,) = ws.sql("SELECT status, metadata->>'stopped_by' FROM results")
    assert row == ("fail", "max_steps")
    (reason,) = ws.sql("SELECT reason FROM grades")
    assert reason[0] == "3 tools steps, max 2 (stopped at the target's max_steps)"


def test_tool_config_mistakes_are_clear_errors(ws: AgentWorkspace, cli: Cli) -> None:
    ws.suite([{"id": "c", "vars": {"input": "hi"}}])
    ws.plan([{"id": "py", "provider": "python", "function": "tools.py:lookup_ticket",
              "tools": [{"name": "x"}]}])  # fmt: skip
    code, out = cli("run")
    assert code == 4, out
    assert "target 'py' (python): `tools:` runs the tool loop for anthropic and openai" in out
    missing = ws.model("anthropic", tools=False)
    missing["tools"] = [{"name": "lookup", "function": "tools.py:nope"}]
    ws.plan([missing])
    code, out = cli("run")
    assert code == 4, out
    assert "target 'anthropic' tool 'lookup': 'tools.py' has no function 'nope'" in out
    assert ws.server.request_count() == 0


def test_a_simulated_user_without_a_runnable_user_model_is_an_error_per_trial(
    ws: AgentWorkspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.suite(
        [{"id": "sim", "user": {"goal": "reset"}, "graders": [{"type": "contains", "value": "x"}]}]
    )
    ws.plan([ws.model("openai", tools=False)], simulated_user="anthropic:claude-x")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, out = cli("run")
    assert code == 1, out
    assert "simulated_user unavailable (ANTHROPIC_API_KEY is not set)" in out
    (row,) = ws.sql("SELECT status, error_kind, error FROM results")
    assert row[:2] == ("error", "config")
    assert "has a simulated `user:` but the plan has no `simulated_user:`" in row[2]
