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


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ma\nin", "control or invisible"),
        ("ma\tin", "control or invisible"),
        ("ma\x00in", "control or invisible"),
        ("\u200b", "control or invisible"),
        ("x" * 5000, "longer than 100 characters"),
        ("latest", "run reference"),
        ("latest~2", "run reference"),
        ("branch=main", "key=value label"),
    ],
)
def test_a_baseline_name_that_cannot_be_shown_or_is_read_otherwise_is_refused(
    workspace: Workspace, cli: CLI, name: str, why: str
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    code, out = cli("baseline", "set", "latest", "--name", name)
    assert code == 4, out
    assert "is not a baseline name" in out and why in out, out
    assert "x" * 100 not in out
    assert workspace.sql("SELECT count(*) FROM baselines") == [(0,)]
    assert cli("baseline", "set", "latest", "--name", "release/2.0 ü")[0] == 0


@pytest.mark.parametrize(
    "args",
    [("show", ""), ("show", "  "), ("report", ""), ("baseline", "set", "", "--name", "main")],
)
def test_an_empty_run_reference_is_refused(
    workspace: Workspace, cli: CLI, args: tuple[str, ...]
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    code, out = cli(*args)
    assert code == 4, out
    assert "is not a run reference" in out
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
