"""A small offline workspace (a python target) and the CLI run in-process."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import SUITE, SYSTEM
from tests.harness import Cli as Cli
from tests.harness import query

PLAN = """\
name: support
suites: [suites/*.yaml]
targets:
  - id: local
    provider: python
    function: system.py:answer
"""


@dataclass
class Workspace:
    root: Path
    db: Path

    def sql(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        """Query the results database the way a user would."""
        return query(self.db, sql, params)


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
