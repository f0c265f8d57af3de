"""EVALKIT_DB_MEMORY_LIMIT: validated before use, and a run works under it (point 9)."""

from __future__ import annotations

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace
from tests.harness import Cli


def test_a_bad_memory_limit_is_a_usage_error(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.plan(PYTHON_TARGET)
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "lots'; DROP TABLE runs; --")
    code, out = cli("run")
    assert code == 4 and "EVALKIT_DB_MEMORY_LIMIT" in out and "is not a size" in out
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "64MB")
    code, out = cli("run")
    assert code == 1, out  # the python target fails 'shipping' on purpose
    assert workspace.sql("SELECT count(*) FROM results") == [(3,)]
