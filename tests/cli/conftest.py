"""A small workspace wired to the fake model server, and a way to run the CLI in-process."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakeserver import FakeModelServer
from tests.harness import Cli as Cli
from tests.harness import fresh_workspace, query

SUITE = """\
name: support
cases:
  - id: refund
    vars: {question: "What is the refund window?"}
    expected: "30 days"
    tags: [policy]
    graders:
      - type: icontains
  - id: greeting
    vars: {question: "Say hello"}
    tags: [smoke]
    graders:
      - type: icontains
        value: hello
  - id: shipping
    vars: {question: "How long does shipping take?"}
    expected: "3 days"
    tags: [policy]
    graders:
      - type: icontains
"""

SYSTEM = """\
def answer(case):
    q = case.vars["question"]
    if "refund" in q:
        return "Refunds are accepted within 30 days."
    if "hello" in q:
        return "Hello there!"
    return "I am not sure."
"""


@dataclass
class Workspace:
    root: Path
    db: Path
    server: FakeModelServer

    def plan(self, targets: str, extra: str = "") -> None:
        """Write evals/plan.yaml with these targets (YAML list items, already indented)."""
        body = f"name: support\nsuites: [suites/*.yaml]\n{extra}targets:\n{targets}"
        (self.root / "evals" / "plan.yaml").write_text(body)

    def sql(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        """Query the results database the way a user would."""
        return query(self.db, sql, params)


@pytest.fixture
def workspace(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    root = fresh_workspace(tmp_path, monkeypatch)
    (root / "suites" / "support.yaml").write_text(SUITE)
    (root / "system.py").write_text(SYSTEM)
    ws = Workspace(root=root, db=root / ".evalkit" / "evalkit.duckdb", server=fake_server)
    fake_server.script(
        {"match": "refund", "reply": "You can get a refund within 30 days."},
        {"match": "hello", "reply": "Hello! How can I help?"},
        {"match": "shipping", "reply": "Shipping takes 3 days."},
    )
    return ws


def anthropic_target(server: FakeModelServer, tid: str = "claude") -> str:
    return textwrap.indent(
        f"- id: {tid}\n  provider: anthropic\n  model: claude-haiku-4-5\n"
        f"  base_url: {server.anthropic_url}\n"
        "  prompts: [{id: plain, template: '{{ question }}'}]\n",
        "  ",
    )


def openai_target(server: FakeModelServer, tid: str = "gpt") -> str:
    return textwrap.indent(
        f"- id: {tid}\n  provider: openai\n  model: gpt-4o-mini\n  base_url: {server.openai_url}\n",
        "  ",
    )


PYTHON_TARGET = "  - id: local\n    provider: python\n    function: system.py:answer\n"


def loads(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value
