"""The pytest plugin: `pytest --evalkit PLAN` runs a plan as items, the `evalkit` fixture
grades outputs from Python tests, and both land in the DuckDB store."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import duckdb
import pytest

# Imported here, before pytester's in-process runs snapshot sys.modules: a module first
# imported inside one run would be dropped after it and imported afresh by the next,
# and two copies of the YAML loader's classes do not mix.
import evalkit.engine.pytest_plugin
import evalkit.engine.session
import evalkit.graders.judge
import evalkit.workspace.discover  # noqa: F401
from tests.cli.conftest import SUITE, SYSTEM

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
# Installed with its entry point (CI), pytest loads the plugin itself; from a source tree
# it is named on the command line.
LOADED = any(ep.value == "evalkit.engine.pytest_plugin" for ep in entry_points(group="pytest11"))
PLUGIN = [] if LOADED else ["-p", "evalkit.engine.pytest_plugin"]

PLAN = """\
name: support
suites: [suites/*.yaml]
targets:
  - {id: local, provider: python, function: "system.py:answer"}
"""


@pytest.fixture
def workspace(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.mkdir("evals")
    pytester.mkdir("suites")
    (pytester.path / "evals" / "plan.yaml").write_text(PLAN)
    (pytester.path / "suites" / "support.yaml").write_text(SUITE)
    (pytester.path / "system.py").write_text(SYSTEM)
    return pytester


def _sql(root: Path, query: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / ".evalkit" / "evalkit.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_the_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"evalkit": "evalkit.engine.pytest_plugin"}


def test_a_plan_runs_as_one_item_per_trial(workspace: pytest.Pytester) -> None:
    result = workspace.runpytest(*PLUGIN, "--evalkit", "evals/plan.yaml", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*support/refund@local#0 PASSED*",
            "*support/shipping@local#0 FAILED*",
            "*icontains: '3 days' not found in output*",
        ]
    )
    runs = _sql(workspace.path, "SELECT run_id, plan, labels->>'runner' FROM runs")
    assert [(plan, runner) for _, plan, runner in runs] == [("support", "pytest")]
    statuses = _sql(workspace.path, "SELECT case_id, status FROM results ORDER BY case_id")
    assert statuses == [("greeting", "pass"), ("refund", "pass"), ("shipping", "fail")]


def test_deselected_trials_do_not_run(workspace: pytest.Pytester) -> None:
    result = workspace.runpytest(*PLUGIN, "--evalkit", "evals/plan.yaml", "-k", "refund")
    result.assert_outcomes(passed=1, deselected=2)
    assert _sql(workspace.path, "SELECT case_id FROM results") == [("refund",)]


def test_the_fixture_grades_and_records(workspace: pytest.Pytester) -> None:
    workspace.makepyfile(
        test_answers="""
        def test_refund(evalkit):
            result = evalkit.check(
                '{"answer": "30 days"}',
                graders=["is-json", {"type": "icontains", "value": "30 days"}],
            )
            assert result.passed and result.score == 1.0

        def test_shipping(evalkit):
            evalkit.check("I am not sure.", graders=[{"type": "icontains", "value": "3 days"}])
        """
    )
    result = workspace.runpytest(*PLUGIN, "test_answers.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*evalkit check fail:*", "*icontains: '3 days' not found*"])
    rows = _sql(
        workspace.path,
        "SELECT r.plan, x.suite, x.case_id, x.status FROM results x JOIN runs r USING (run_id) "
        "ORDER BY x.case_id",
    )
    assert rows == [
        ("pytest", "test_answers", "test_refund", "pass"),
        ("pytest", "test_answers", "test_shipping", "fail"),
    ]


def test_a_bad_plan_is_a_usage_error(workspace: pytest.Pytester) -> None:
    result = workspace.runpytest(*PLUGIN, "--evalkit", "evals/missing.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_plugin_costs_a_pytest_session_none_of_the_heavy_imports() -> None:
    # pytest imports the plugin in every session of every project where evalkit is
    # installed, most of them never asking for it: it must not load the SDKs, DuckDB,
    # pandas or the graders until --evalkit or the fixture is used
    import subprocess
    import sys

    heavy = ["anthropic", "openai", "duckdb", "pandas", "jinja2", "rich", "evalkit.graders"]
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, evalkit.engine.pytest_plugin\n"
            f"print([m for m in {heavy!r} if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"
