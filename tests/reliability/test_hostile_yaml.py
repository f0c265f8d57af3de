"""Point 6 of issue 6, end to end (the loader's own tests are in tests/spec): YAML 1.1
surprises stay strings through a whole run, and a boolean timeout stops the run."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace
from tests.harness import Cli


def test_yaml_11_surprises_stay_strings_all_the_way_to_duckdb(
    workspace: Workspace, cli: Cli
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\ncases:\n"
        "  - id: 0123\n    vars: {question: Say hello, country: no, flag: on, code: 0o17}\n"
        "    graders: [{type: icontains, value: hello}]\n"
    )
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run")
    assert code == 0, out
    ((case_id, vars_),) = workspace.sql("SELECT case_id, vars FROM cases")
    assert case_id == "0123"
    assert json.loads(str(vars_)) == {
        "question": "Say hello", "country": "no", "flag": "on", "code": "0o17"
    }  # fmt: skip


@pytest.mark.parametrize("where", ["plan", "target"])
def test_a_boolean_timeout_is_refused_with_its_location(
    workspace: Workspace, cli: Cli, where: str
) -> None:
    if where == "plan":
        workspace.plan(PYTHON_TARGET, extra="timeout: true\n")
    else:
        workspace.plan(PYTHON_TARGET + "    timeout: true\n")
    code, out = cli("run")
    assert code == 4, out
    assert "evals/plan.yaml:" in out and "timeout" in out
    assert not workspace.db.exists() or workspace.sql("SELECT count(*) FROM runs") == [(0,)]
