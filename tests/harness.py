"""What many test folders share: the in-process CLI's type, querying a results database
as a user would, and a fresh workspace folder with the fake server's keys set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

# `cli("run", "--json", ...)` -> (exit code, stdout + stderr), the `cli` fixture
Cli = Callable[..., tuple[int, str]]


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the results database at `db`, opened read-only like a user's shell."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def fresh_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (suites/, evals/) as the current folder, with the fake server's
    keys set and no database or judge chosen from the outside environment."""
    root = tmp_path / "ws"
    (root / "suites").mkdir(parents=True)
    (root / "evals").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    return root
