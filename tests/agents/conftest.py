"""A workspace with tools (workspace functions) and model targets wired to the fake
server, for the conversation and tool-loop tests."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakeserver import FakeModelServer
from tests.harness import Cli as Cli
from tests.harness import fresh_workspace, query

TOOLS = """\
CALLS = []

def lookup_ticket(ticket_id):
    CALLS.append(ticket_id)
    if ticket_id == "T-404":
        raise KeyError("no ticket T-404")
    return {"id": ticket_id, "status": "open", "subject": "Cannot log in"}

def reset_password(user):
    return {"user": user, "reset": True}
"""

TOOL_DEFS = [
    {
        "name": "lookup_ticket",
        "description": "Look up a support ticket by id.",
        "parameters": {
            "type": "object",
            "properties": {"ticket_id": {"type": "string"}},
            "required": ["ticket_id"],
        },
        "function": "tools.py:lookup_ticket",
    },
    {
        "name": "reset_password",
        "description": "Reset a user's password.",
        "parameters": {"type": "object", "properties": {"user": {"type": "string"}}},
        "function": "tools.py:reset_password",
    },
]


@dataclass
class AgentWorkspace:
    root: Path
    db: Path
    server: FakeModelServer

    def suite(self, cases: list[dict[str, Any]], name: str = "agent") -> None:
        """Write suites/<name>.yaml with these cases."""
        text = yaml.safe_dump({"name": name, "cases": cases}, sort_keys=False)
        (self.root / "suites" / f"{name}.yaml").write_text(text)

    def plan(self, targets: list[dict[str, Any]], **extra: Any) -> None:
        """evals/plan.yaml with these targets."""
        body = {"name": "agent", "suites": ["suites/*.yaml"], "retries": 0, **extra}
        body["targets"] = targets
        (self.root / "evals" / "plan.yaml").write_text(yaml.safe_dump(body, sort_keys=False))

    def model(self, api: str, tools: bool = True, **keys: Any) -> dict[str, Any]:
        """A target of the fake server's `api` (anthropic or openai), with the tools."""
        url = self.server.anthropic_url if api == "anthropic" else self.server.openai_url
        target: dict[str, Any] = {"id": api, "provider": api, "model": "m", "base_url": url}
        if tools:
            target["tools"] = TOOL_DEFS
        return {**target, **keys}

    def sql(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Query the results database."""
        return query(self.db, sql, params)


@pytest.fixture
def ws(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> AgentWorkspace:
    root = fresh_workspace(tmp_path, monkeypatch)
    (root / "tools.py").write_text(TOOLS)
    return AgentWorkspace(root, root / ".evalkit" / "evalkit.duckdb", fake_server)


def dedent(text: str) -> str:
    return textwrap.dedent(text)
