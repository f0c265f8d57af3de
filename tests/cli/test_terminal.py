"""Small things a terminal user meets: --version, NO_COLOR, plurals, git provenance."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from evalkit import __version__
from evalkit.cli.console import _console
from tests.cli.conftest import PYTHON_TARGET, Workspace

Cli = Callable[..., tuple[int, str]]


def test_version(cli: Cli) -> None:
    code, out = cli("--version")
    assert code == 0 and out.strip() == f"evalkit {__version__}"


@pytest.mark.parametrize("no_color", ["1", ""])
def test_no_color_removes_bold_and_dim_too(monkeypatch: pytest.MonkeyPatch, no_color: str) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal, as far as rich is concerned
    monkeypatch.setenv("NO_COLOR", no_color)
    console = _console(stderr=False)
    with console.capture() as captured:
        console.print("[bold]gate[/] [dim]note[/] [red]failed[/]")
    escapes = "\x1b[" in captured.get()
    assert escapes is (not no_color)


def test_one_is_singular(workspace: Workspace, cli: Cli) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\ncases:\n  - id: c\n    vars: {question: 'boom'}\n"
        "    graders: [{type: icontains, value: x}]\n"
    )
    (workspace.root / "system.py").write_text("def answer(case):\n    raise ValueError('no')\n")
    workspace.plan(PYTHON_TARGET)
    _, out = cli("validate")
    assert "1 plan and 1 suite in" in out, out
    _, out = cli("run")
    assert "1 trial · 0 passed · 0 failed · 1 error" in out, out


def test_outside_git_the_provenance_says_so(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    cli("run")
    _, out = cli("show", "latest")
    assert "not a git repository" in out and "git ?" not in out and "on ?" not in out, out


def test_inside_git_the_commit_and_branch_are_shown(workspace: Workspace, cli: Cli) -> None:
    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=workspace.root, check=True, capture_output=True)

    run("init", "-q", "-b", "trunk")
    run("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "x")
    workspace.plan(PYTHON_TARGET)
    cli("run")
    _, out = cli("show", "latest")
    assert "on trunk" in out and "not a git repository" not in out, out


def test_tables_fit_80_columns_without_cutting_numbers(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.cli import console as consoles

    monkeypatch.setattr(consoles.console, "width", 80)
    long_suite = "a-rather-long-suite-name-for-refunds-and-returns"
    suite = (workspace.root / "suites" / "support.yaml").read_text()
    (workspace.root / "suites" / "support.yaml").write_text(
        suite.replace("name: support", f"name: {long_suite}")
    )
    workspace.plan(PYTHON_TARGET.replace("id: local", "id: a-local-python-target-with-a-long-id"))
    cli("run", "--label", "branch=a-very-long-branch-name-for-a-feature")
    for args in (("show", "latest"), ("runs",)):
        _, out = cli(*args)
        table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
        assert table and all(len(line) <= 80 for line in table), out
        assert "66.7%" in out and "…" not in "".join(table), out  # numbers whole
    _, out = cli("show", "latest")
    assert "tokens" not in out and "cost" not in out  # a python target reports neither


def test_interval_caption_says_which_suites_each_wording_is_for(
    workspace: Workspace, cli: Cli
) -> None:
    (workspace.root / "suites" / "small.yaml").write_text(
        "name: small\ncases:\n"
        "  - {id: a, vars: {question: hello}, graders: [{type: icontains, value: hello}]}\n"
        "  - {id: b, vars: {question: refund}, graders: [{type: icontains, value: days}]}\n"
    )
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run")
    assert code in (0, 1), out
    caption = " ".join(out.split())
    assert "pass-rate intervals: 95% CI over 2 cases (small); 95% CI over 3 cases (support)" in (
        caption
    )
