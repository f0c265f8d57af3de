"""Ctrl-C during `evalkit run`: finished trials are kept, the run is marked, exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tests.cli.conftest import Workspace, anthropic_target
from tests.harness import many_cases, start_cli


def interrupt_a_run(workspace: Workspace, sig: signal.Signals) -> tuple[int, str]:
    """Start a 30-trial run against a slow model, send `sig` once it is well under way,
    and return its exit code and output."""
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(30))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 2\n")
    workspace.server.set_latency(300)
    proc = start_cli(workspace.root, "run")
    deadline = time.monotonic() + 30
    while workspace.server.request_count() < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the run is well under way
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out


def test_ctrl_c_drains_in_flight_trials_and_keeps_finished_ones(workspace: Workspace) -> None:
    code, out = interrupt_a_run(workspace, signal.SIGINT)
    assert code == 2, out
    assert "interrupted" in out
    con = duckdb.connect(str(workspace.db), read_only=True)
    try:
        status, planned = con.execute("SELECT status, trials_planned FROM runs").fetchone() or ()
        done, distinct = (
            con.execute("SELECT count(*), count(DISTINCT trial_id) FROM results").fetchone() or ()
        )
    finally:
        con.close()
    assert status == "interrupted" and planned == 30
    assert 0 < done < 30 and done == distinct
    # Every trial that reached the model was saved: none was dropped while draining.
    assert done == workspace.server.request_count()


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evalkit", "--help"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "run" in out.stdout and "validate" in out.stdout
