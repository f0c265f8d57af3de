"""One definition of pass rate and score: the run table, `runs`, `show`, `compare`,
`trend`, the JSON report and the Python API agree on a run with errored trials."""

from __future__ import annotations

import json
from collections.abc import Callable

import evalkit
from evalkit.analysis import summary
from evalkit.store.db import Store
from tests.cli.conftest import Workspace

Cli = Callable[..., tuple[int, str]]

# Four cases: two answered and passing, two whose system raises (errored trials).
SUITE = """\
name: support
cases:
""" + "".join(
    f"  - id: c{i}\n    vars: {{question: 'q{i}', boom: {str(i >= 2).lower()}}}\n"
    "    graders: [{type: icontains, value: ok}]\n"
    for i in range(4)
)

SYSTEM = """\
def answer(case):
    if case.vars["boom"]:
        raise RuntimeError("the system fell over")
    return "ok"
"""

PLAN = "  - id: local\n    provider: python\n    function: system.py:answer\n"


def test_every_screen_shows_the_same_pass_rate_and_score(workspace: Workspace, cli: Cli) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(SUITE)
    (workspace.root / "system.py").write_text(SYSTEM)
    workspace.plan(PLAN)
    code, out = cli("run", "--json", "run.json")
    assert code == 1, out
    # run table: 2 of 4 passed, and the two errors score 0: mean 0.50, not 1.00
    assert "50.0%" in out and "0.50" in out and "1.00" not in out
    code, out = cli("runs")
    assert code == 0 and "50.0%" in out and "0.50" in out, out
    code, out = cli("show", "latest")
    assert "50.0%" in out and "0.50" in out, out
    report = json.loads((workspace.root / "run.json").read_text())
    (row,) = report["summary"]
    assert (row["pass_rate"], row["mean_score"]) == (0.5, 0.5)
    frames = evalkit.results("latest", db=workspace.db)
    api_row = frames.summary.iloc[0]
    assert (api_row["pass_rate"], api_row["mean_score"]) == (0.5, 0.5)
    code, out = cli("trend")
    assert "50.0%" in out, out
    with Store.open(workspace.db, read_only=True) as store:
        (listed,) = summary.run_list(store.con)
    assert (listed["pass_rate"], listed["mean_score"]) == (0.5, 0.5)


def test_an_errored_grade_never_raises_the_stored_score(workspace: Workspace, cli: Cli) -> None:
    (workspace.root / "graders").mkdir()
    (workspace.root / "graders" / "broken.py").write_text(
        "from evalkit.graders import grader\n\n"
        "@grader('broken')\n"
        "def broken(output, case, params):\n"
        "    raise RuntimeError('judge call failed')\n"
    )
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\ncases:\n  - id: c\n    vars: {question: 'Say hello'}\n"
        "    graders: [{type: icontains, value: hello}, {type: broken}]\n"
    )
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    code, out = cli("run")
    assert code == 1, out
    assert workspace.sql("SELECT status, score FROM results") == [("error", 0.0)]
