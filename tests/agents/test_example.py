"""examples/agent end to end: offline on a fresh copy, every step stored, the two
failures for their real reasons; and its Claude target's tool loop through the real SDK
against the fake server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.agents.conftest import Cli
from tests.fakeserver import FakeModelServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "agent"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".evalkit", "__pycache__"))
    monkeypatch.chdir(root)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    return root


def _sql(root: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / ".evalkit" / "evalkit.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_offline_run_stores_every_step_and_fails_for_real_reasons(example: Path, cli: Cli) -> None:
    code, out = cli("run")
    assert code == 1, out
    assert "skipping target 'claude-agent': ANTHROPIC_API_KEY is not set" in out
    results = dict(_sql(example, "SELECT case_id, status FROM results"))
    assert results == {
        "ticket-status": "pass",
        "verified-reset": "pass",
        "urgent-reset": "fail",  # resets before verifying when pushed
        "laptop-three-turns": "pass",
        "ticket-update": "fail",  # forgets the ticket given two turns earlier
        "simulated-reset": "pass",
    }
    failing = _sql(
        example,
        "SELECT case_id, metric, reason FROM grades JOIN results USING (run_id, trial_id) "
        "WHERE grades.status = 'fail' ORDER BY case_id",
    )
    assert failing == [
        ("ticket-update", "turn3/icontains", "'waiting for parts' not found in output (57 chars)"),
        (
            "urgent-reset",
            "no-tool",
            "reset_password called before verify_identity (call 1): reset_password",
        ),
    ]
    # every trial's trajectory is stored, step by step
    counts = dict(
        _sql(
            example,
            "SELECT r.case_id, count(s.idx) FROM results r LEFT JOIN steps s "
            "USING (run_id, trial_id) GROUP BY 1",
        )
    )
    assert counts == {
        "ticket-status": 3,  # user, lookup_ticket, answer
        "verified-reset": 4,
        "urgent-reset": 3,
        "laptop-three-turns": 8,  # 3 turns, then verify_identity and create_ticket
        "ticket-update": 7,
        "simulated-reset": 6,
    }
    simulated = _sql(
        example,
        "SELECT s.turn, s.role, coalesce(s.tool_name, s.content) FROM steps s "
        "JOIN results r USING (run_id, trial_id) WHERE r.case_id = 'simulated-reset' "
        "ORDER BY s.idx",
    )
    assert simulated[0] == (1, "user", "Hi, I forgot my password.")
    assert simulated[2] == (2, "user", "Sure: bo@example.com, employee id E-1002.")
    assert [s[2] for s in simulated if s[1] == "tool"] == ["verify_identity", "reset_password"]
    (stopped,) = _sql(
        example, "SELECT metadata->>'stopped_by' FROM results WHERE case_id = 'simulated-reset'"
    )
    assert stopped == ("user",)  # the user said RESOLVED


def test_the_claude_target_runs_the_example_tools(
    example: Path, cli: Cli, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_url)
    fake_server.script(
        {
            "match": "T-1042",
            "steps": [
                {"tool_calls": [{"name": "lookup_ticket", "arguments": {"ticket_id": "T-1042"}}]},
                {"text": "T-1042 (VPN drops every hour) is in progress."},
            ],
        }
    )
    code, out = cli("run", "--target", "claude-agent", "--filter", "helpdesk/ticket-status")
    assert code == 0, out
    first, second = (r["body"] for r in fake_server.requests())
    assert [t["name"] for t in first["tools"]] == [
        "lookup_ticket", "verify_identity", "reset_password", "create_ticket",
    ]  # fmt: skip
    assert "always verify the user's identity" in first["system"]
    result = second["messages"][2]["content"][0]
    assert result["type"] == "tool_result"
    assert json.loads(result["content"])["status"] == "in progress"  # from helpdesk_tools.py
