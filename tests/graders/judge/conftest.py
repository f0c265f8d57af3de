"""A workspace whose system under test answers each case with the case's own `answer`
var (a python target), judged by the fake server's scripted judge through the real SDKs."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests.fakeserver import FakeModelServer
from tests.harness import Cli as Cli
from tests.harness import fresh_workspace, query

SYSTEM = """\
def answer(case):
    return {"output": case.vars["answer"], "context": case.vars.get("retrieved")}
"""


@dataclass
class JudgeWorkspace:
    root: Path
    db: Path
    server: FakeModelServer

    def suite(self, cases: list[dict[str, Any]], name: str = "judged") -> None:
        """Write suites/<name>.yaml with these cases."""
        text = yaml.safe_dump({"name": name, "cases": cases}, sort_keys=False)
        (self.root / "suites" / f"{name}.yaml").write_text(text)

    def plan(self, judge: str = "anthropic", extra: str = "") -> None:
        """evals/plan.yaml: the python target, judged by the fake server's `judge` API."""
        url = self.server.anthropic_url if judge == "anthropic" else self.server.openai_url
        judge_keys = f"{{provider: {judge}, model: judge-model, base_url: '{url}'}}"
        body = textwrap.dedent(
            f"""\
            name: judged
            suites: [suites/*.yaml]
            judge: {judge_keys}
            retries: 2
            targets:
              - id: sut
                provider: python
                function: system.py:answer
            """
        )
        (self.root / "evals" / "plan.yaml").write_text(body + extra)

    def sql(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        """Query the results database as a user would."""
        return query(self.db, sql, params)

    def grades(self) -> dict[str, dict[str, Any]]:
        """The latest run's grades by case id, as dicts of their columns."""
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            cursor = con.execute(
                "SELECT r.case_id, g.* FROM grades g JOIN results r USING (run_id, trial_id) "
                "WHERE g.run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)"
            )
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()
        for row in rows:
            row["metadata"] = json.loads(row["metadata"]) if row["metadata"] else {}
        return {row["case_id"]: row for row in rows}


@pytest.fixture
def ws(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> JudgeWorkspace:
    root = fresh_workspace(tmp_path, monkeypatch)
    (root / "system.py").write_text(SYSTEM)
    return JudgeWorkspace(root=root, db=root / ".evalkit" / "evalkit.duckdb", server=fake_server)


def verdict(**fields: Any) -> str:
    """A judge reply: the verdict as the JSON a tool call carries."""
    return json.dumps({"reasoning": fields.pop("reasoning", "Because."), **fields})
