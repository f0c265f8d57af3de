"""The exit codes a CI run depends on: infrastructure (3), nothing ran (5), skipped
grades never green, a cancelled job (SIGTERM) that resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace, anthropic_target
from tests.cli.test_interrupt import interrupt_a_run
from tests.harness import many_cases

Cli = Callable[..., tuple[int, str]]

JUDGED_SUITE = """\
name: support
cases:
  - id: refund
    vars: {question: "What is the refund window?"}
    graders:
      - type: icontains
        value: refund
      - type: llm-rubric
        value: Names the refund window.
  - id: greeting
    vars: {question: "Say hello"}
    graders:
      - type: icontains
        value: hello
"""


def test_a_rejected_key_exits_3_stops_after_3_calls_and_says_why_once(
    workspace: Workspace, cli: Cli
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(12))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 1\n")
    workspace.server.fail_next(401, count=100)
    code, out = cli("run")
    assert code == 3, out
    assert workspace.server.request_count() == 3  # fail fast: no fourth call
    assert out.count("ANTHROPIC_API_KEY was rejected: HTTP 401") == 2  # notice + reason
    assert "test-key" not in out
    (status,) = workspace.sql("SELECT status FROM runs")[0]
    assert status == "failed"  # resumable, never a baseline
    assert workspace.sql("SELECT count(*) FROM results")[0][0] == 3  # the rest: not run


def test_a_rejected_key_stops_every_worker_and_leaves_the_rest_unrun(
    workspace: Workspace, cli: Cli
) -> None:
    """With worker processes, one worker's third rejection stops the target in all."""
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(40))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 2\n")
    workspace.server.fail_next(401, count=100)
    code, out = cli("run", "--workers", "2")
    assert code == 3, out
    assert out.count("ANTHROPIC_API_KEY was rejected: HTTP 401") == 2  # notice + reason
    (status,) = workspace.sql("SELECT status FROM runs")[0]
    assert status == "failed"  # resumable, never a baseline
    sent = workspace.server.request_count()
    assert 3 <= sent <= 6  # each worker stops after at most 3 of its own
    assert workspace.sql("SELECT count(*) FROM results")[0][0] == sent  # the rest: not run


def test_every_trial_unreachable_is_an_infrastructure_failure(
    workspace: Workspace, cli: Cli
) -> None:
    target = anthropic_target(workspace.server).replace(
        workspace.server.anthropic_url, "http://127.0.0.1:9"
    )
    workspace.plan(target, extra="retries: 0\n")
    code, out = cli("run")
    assert code == 3, out
    assert "every trial failed to reach its target" in out


def test_skipped_grades_exit_3_unless_counted_out(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    (workspace.root / "suites" / "support.yaml").write_text(JUDGED_SUITE)
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run")
    assert code == 3, out
    assert "1 grade skipped" in out
    assert "--allow-skipped" in out
    code, out = cli("run", "--allow-skipped")
    assert code == 0, out
    workspace.plan(PYTHON_TARGET, extra="allow_skipped: true\n")
    code, out = cli("run")
    assert code == 0, out


def test_a_gate_cannot_pass_a_run_with_skipped_grades(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    (workspace.root / "suites" / "support.yaml").write_text(JUDGED_SUITE)
    workspace.plan(PYTHON_TARGET, extra="gate: {min_pass_rate: 0.1}\n")
    code, out = cli("run", "--gate")
    assert code == 3, out
    assert "gate passed" not in out


def test_an_empty_selection_exits_5_and_is_never_latest(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run")
    assert code == 1, out  # the conftest suite has a failing case
    (first,) = workspace.sql("SELECT run_id FROM runs")[0]
    code, out = cli("run", "-k", "nomatch*")
    assert code == 5, out
    assert "nothing ran" in out
    assert workspace.sql("SELECT run_id FROM runs") == [(first,)]
    code, out = cli("run", "-k", "nomatch*", "--gate", "--json", "out.json")
    assert code in (4, 5), out  # no gate rules: a usage error before anything runs


def test_every_target_skipped_exits_5(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    workspace.plan(anthropic_target(workspace.server))
    code, out = cli("run")
    assert code == 5, out
    assert workspace.sql("SELECT count(*) FROM runs") == [(0,)]


def test_compare_with_no_paired_case_exits_5(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    cli("run", "-k", "refund")
    cli("run", "-k", "greeting")
    code, out = cli("compare", "latest~1", "latest")
    assert code == 5, out
    assert "nothing to compare" in out
    workspace.plan(PYTHON_TARGET, extra="gate: {max_regressions: 0}\n")
    code, out = cli("compare", "latest~1", "latest", "--gate")
    assert code == 5, out
    assert "gate passed" not in out


def test_sigterm_drains_like_ctrl_c_and_resume_finishes(workspace: Workspace) -> None:
    code, out = interrupt_a_run(workspace, signal.SIGTERM)
    assert code == 2, out
    assert "SIGTERM" in out
    ((status, run_id),) = workspace.sql("SELECT status, run_id FROM runs")
    done = workspace.sql("SELECT count(*) FROM results")[0][0]
    assert status == "interrupted"
    assert 0 < done < 30 and done == workspace.server.request_count()
    workspace.server.set_latency(0)
    resumed = subprocess.run(
        [sys.executable, "-m", "evalkit", "resume", str(run_id)],
        cwd=workspace.root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert workspace.sql("SELECT count(*), count(DISTINCT trial_id) FROM results") == [(30, 30)]
