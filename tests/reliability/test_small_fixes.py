"""Small holes: an empty baseline name, resume of a completed run, a 5,000-digit number."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace

CLI = Callable[..., tuple[int, str]]


@pytest.mark.parametrize("name", ["", "   ", " main"])
def test_a_blank_baseline_name_is_refused(workspace: Workspace, cli: CLI, name: str) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    code, out = cli("baseline", "set", "latest", "--name", name)
    assert code == 4, out
    assert "is not a baseline name" in out
    assert workspace.sql("SELECT count(*) FROM baselines") == [(0,)]


def test_resume_of_a_completed_run_refuses_without_announcing_it(
    workspace: Workspace, cli: CLI
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    code, out = cli("resume", "latest")
    assert code == 4, out
    assert "already completed" in out and "resuming" not in out


def test_a_5000_digit_integer_is_too_large_not_malformed(workspace: Workspace, cli: CLI) -> None:
    workspace.plan(PYTHON_TARGET, extra=f"epochs: {'9' * 5000}\n")
    code, out = cli("validate")
    assert code == 4, out
    assert "evals/plan.yaml:3" in out and "too large a number (5,000 digits)" in out, out
    assert "9" * 100 not in out
