"""A small offline workspace (a python target) and the CLI run in-process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from evalkit.cli import invoke
from tests.cli.conftest import SUITE, SYSTEM

PLAN = """\
name: support
suites: [suites/*.yaml]
targets:
  - id: local
    provider: python
    function: system.py:answer
"""

Cli = Callable[..., tuple[int, str]]


@dataclass
class Workspace:
    root: Path
    db: Path

    def sql(self, query: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        """Query the results database the way a user would."""
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    (root / "suites").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "suites" / "support.yaml").write_text(SUITE)
    (root / "evals" / "plan.yaml").write_text(PLAN)
    (root / "system.py").write_text(SYSTEM)
    monkeypatch.chdir(root)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    # offline on purpose: a model-graded grader is skipped, never called
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    monkeypatch.setenv("USER", "tester")
    return Workspace(root=root, db=root / ".evalkit" / "evalkit.duckdb")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `evalkit ARGS...` in-process; returns (exit code, stdout + stderr)."""

    def run(*args: str) -> tuple[int, str]:
        code = invoke(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repo(root: Path) -> str:
    git(root, "init", "-q")
    git(root, "config", "user.name", "Ada Importer")
    git(root, "config", "user.email", "ada@example.invalid")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "workspace")
    return git(root, "rev-parse", "HEAD")
