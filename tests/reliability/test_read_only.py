"""`evalkit run` in a workspace it cannot write: the message says the folder is not
writable and how to put the database elsewhere, not that a database is damaged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace


def run_read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`evalkit ARGS` with `root` read-only: a read-only bind mount in a private mount
    namespace when running as root (permission bits do not stop root), else chmod."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "evalkit", *args]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")] if p.is_dir()}
        for path in modes:
            path.chmod(0o555)
        try:
            return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without unshare: cannot make a folder read-only")
    script = f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" && exec "$@"'
    done = subprocess.run(
        [unshare, "-m", "sh", "-c", script, "sh", *command],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if "mount:" in done.stderr and "evalkit" not in done.stderr:
        pytest.skip(f"cannot mount read-only here: {done.stderr.strip()}")
    return done


def test_run_in_a_read_only_workspace_says_what_to_do(workspace: Workspace) -> None:
    workspace.plan(PYTHON_TARGET)
    done = run_read_only(workspace.root, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "not writable" in out and "--db" in out, out
    assert "damaged" not in out and "move the file aside" not in out, out
    assert not workspace.db.exists()


def test_run_with_an_existing_database_in_a_read_only_workspace(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert subprocess.run(
        [sys.executable, "-m", "evalkit", "run"],
        cwd=workspace.root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
    ).returncode in (0, 1)
    done = run_read_only(workspace.root, "run")
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "not writable" in out and "--db" in out and "damaged" not in out, out
    # reading still works on a read-only file system
    shown = run_read_only(workspace.root, "runs")
    assert shown.returncode == 0, shown.stdout + shown.stderr
