"""Shared fixtures. The fake model server: one process per test session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evalkit.cli import invoke
from tests.fakeserver import FakeModelServer
from tests.harness import Cli


@pytest.fixture(scope="session")
def _fake_server_process() -> Iterator[FakeModelServer]:
    server = FakeModelServer()
    yield server
    server.close()


@pytest.fixture
def fake_server(_fake_server_process: FakeModelServer) -> FakeModelServer:
    """The session's fake model server, with scripts, failures and its log cleared."""
    _fake_server_process.reset()
    return _fake_server_process


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `evalkit ARGS...` in-process; returns (exit code, stdout + stderr)."""

    def run(*args: str) -> tuple[int, str]:
        code = invoke(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
