"""What many test folders share: the in-process CLI's type, the CLI as a process of its
own, querying a results database as a user would, a fresh workspace folder with the fake
server's keys set, and a suite of numbered questions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
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


def start_cli(
    root: Path,
    *args: str,
    before: str = "",
    env: dict[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[str]:
    """`python -m evalkit ARGS` as a process of its own in `root`, with this test run's
    import path and `env` added; output (stdout and stderr together) on a pipe unless
    `popen` says else. `before`: Python run first in that process (to patch it), then the
    console entry point."""
    options: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    options.update(popen)
    command = ["-m", "evalkit", *args]
    if before:
        command = [
            "-c",
            f"{textwrap.dedent(before)}\nfrom evalkit.cli import main\nmain({list(args)!r})",
        ]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
        text=True,
        **options,
    )


def finish(proc: subprocess.Popen[str], timeout: float, failure: str) -> str:
    """The process's output once it ends within `timeout` seconds; past that it is
    killed and the test fails with `failure`."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(failure)
    return out


# Devices are made with mknod, which needs root.
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


def char_device(path: Path, minor: int) -> Path:
    """A character device of the memory driver (major 1) at `path`: minor 3 is what
    /dev/null is, 7 what /dev/full is."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def many_cases(n: int) -> str:
    """A suite `support` of `n` cases `q0..` asking 'question i', graded by icontains
    'reply' (what the fake server's default answer holds)."""
    cases = "".join(
        f"  - id: q{i}\n    vars: {{question: 'question {i}'}}\n"
        "    graders: [{type: icontains, value: reply}]\n"
        for i in range(n)
    )
    return f"name: support\ncases:\n{cases}"
