"""Problems that would fail every trial are found before the first call: `evalkit
validate` and `evalkit run` exit 4 with the plan's file:line:col, and nothing is sent."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from tests.cli.conftest import Workspace, anthropic_target

Cli = Callable[..., tuple[int, str]]


def test_a_python_target_with_no_such_function_is_refused_before_running(
    workspace: Workspace, cli: Cli
) -> None:
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:anwser\n")
    code, out = cli("validate")
    assert code == 4, out
    assert "evals/plan.yaml:6:15 targets[0].function" in out
    assert "has no function 'anwser' (did you mean 'answer'?)" in out
    code, out = cli("run")
    assert code == 4, out
    assert "did you mean 'answer'" in out
    assert not (workspace.root / ".evalkit").exists() or workspace.sql(
        "SELECT count(*) FROM runs"
    ) == [(0,)]


def test_a_python_target_with_no_such_file_is_refused(workspace: Workspace, cli: Cli) -> None:
    workspace.plan("  - id: local\n    provider: python\n    function: sytem.py:answer\n")
    code, out = cli("validate")
    assert code == 4, out
    assert "targets[0].function" in out and "function file 'sytem.py' not found" in out


def test_a_module_target_that_cannot_be_found_is_refused(workspace: Workspace, cli: Cli) -> None:
    workspace.plan("  - id: local\n    provider: python\n    function: no_such_pkg.mod:f\n")
    code, out = cli("validate")
    assert code == 4 and "cannot find module 'no_such_pkg.mod'" in out, out


def test_a_template_variable_no_case_provides_names_the_cases(
    workspace: Workspace, cli: Cli
) -> None:
    target = anthropic_target(workspace.server).replace("{{ question }}", "{{ questoin }}")
    workspace.plan(target)
    code, out = cli("validate")
    assert code == 4, out
    assert "targets[0].prompts[0].template" in out
    assert "uses '{{ questoin }}' but 3 of 3 cases have no var 'questoin'" in out
    assert "(did you mean 'question'?)" in out
    assert "support/refund (suites/support.yaml:" in out
    code, out = cli("run")
    assert code == 4, out
    assert workspace.server.request_count() == 0


def test_guarded_variables_and_case_fields_are_not_reported(workspace: Workspace, cli: Cli) -> None:
    template = "{{ question }} {{ case.id }} {% if hint is defined %}{{ hint }}{% endif %}"
    target = anthropic_target(workspace.server).replace("'{{ question }}'", f'"{template}"')
    workspace.plan(target)
    code, out = cli("validate")
    assert code == 0, out


def test_a_variable_some_cases_lack_is_refused_only_when_those_cases_run(
    workspace: Workspace, cli: Cli
) -> None:
    suite = (workspace.root / "suites" / "support.yaml").read_text()
    (workspace.root / "suites" / "support.yaml").write_text(
        suite.replace(
            '  - id: refund\n    vars: {question: "What is the refund window?"}',
            '  - id: refund\n    vars: {question: "What is the refund window?", tone: calm}',
        )
    )
    target = anthropic_target(workspace.server).replace("'{{ question }}'", "'{{ tone }}'")
    workspace.plan(target)
    code, out = cli("run", "-k", "greeting")
    assert code == 4 and "2 of 3 cases" not in out and "1 of 1 cases" in out, out
    code, out = cli("run", "-k", "refund")
    assert code == 1, out  # it ran (the fake model's reply fails the grader)
    assert workspace.server.request_count() == 1


def test_validate_reports_a_syntax_error_in_a_prompt_file(workspace: Workspace, cli: Cli) -> None:
    (workspace.root / "evals" / "p.j2").write_text("{{ question ")
    target = textwrap.indent(
        "- id: c\n  provider: anthropic\n  model: m\n"
        f"  base_url: {workspace.server.anthropic_url}\n"
        "  prompts: [{id: f, file: p.j2}]\n",
        "  ",
    )
    workspace.plan(target)
    code, out = cli("validate")
    assert code == 4 and "template syntax error" in out, out


def test_absurd_epochs_are_refused_with_the_limit(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(
        "  - id: local\n    provider: python\n    function: system.py:answer\n",
        extra="epochs: 1000000000\n",
    )
    code, out = cli("validate")
    assert code == 4 and "epochs must be at most 1000, got 1000000000" in out, out
    code, out = cli("run", "--epochs", "1000000000")
    assert code == 4 and "1000" in out, out


def test_a_plan_of_more_trials_than_a_run_takes_is_refused(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.engine import plan

    # the cap is 10**8; at 8, 3 cases x 1 target x 3 epochs pass it (validate and run
    # both ask plan.too_many_trials)
    monkeypatch.setattr(plan, "MAX_TRIALS", 8)
    workspace.plan(
        "  - id: local\n    provider: python\n    function: system.py:answer\n",
        extra="epochs: 3\n",
    )
    code, out = cli("validate")
    assert code == 4, out
    assert "evals/plan.yaml:3:9 epochs" in out
    assert "the plan makes 9 trials (3 cases x 1 target variants x 3 epochs)" in out
    assert "at most 8" in out
    code, out = cli("run")
    assert code == 4 and "the plan makes 9 trials" in out, out
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    code, out = cli("run", "--epochs", "3")  # the same plan by its command line
    assert code == 4 and "the plan makes 9 trials" in out and "--limit" in out, out
    assert not workspace.db.exists() or workspace.sql("SELECT count(*) FROM runs") == [(0,)]
