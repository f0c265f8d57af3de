"""Points 1-3 of issue 6: kill -9 then resume, Ctrl-C twice, and resume's refusals."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable

import duckdb
import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace, anthropic_target
from tests.harness import many_cases, start_cli

TRIALS = 1000


def wait_for_requests(ws: Workspace, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while ws.server.request_count() < n and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)


def test_kill_9_then_resume_finishes_the_same_run_without_repeating_saved_trials(
    workspace: Workspace,
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(TRIALS))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 8\n")
    workspace.server.set_latency(30)
    proc = start_cli(workspace.root, "run")
    wait_for_requests(workspace, 500, proc)  # ~2 s in: at least one batch committed
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    (run_id, status), *others = workspace.sql("SELECT run_id, status FROM runs")
    assert not others and status == "running"  # nobody got to mark it
    saved = {str(r[0]) for r in workspace.sql("SELECT trial_id FROM results")}
    assert 0 < len(saved) < TRIALS
    before_resume = len(workspace.server.requests())

    resumed = start_cli(workspace.root, "resume")
    out, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, out
    assert f"resuming run {run_id} ({len(saved)} trials already saved)" in out

    rows = workspace.sql("SELECT run_id, status, summary->>'finished' FROM runs")
    assert rows == [(run_id, "completed", str(TRIALS))]
    total, distinct, keys = workspace.sql(
        "SELECT count(*), count(DISTINCT trial_id), count(DISTINCT (case_id, target_id, epoch)) "
        "FROM results WHERE run_id = ?",
        [run_id],
    )[0]
    assert total == distinct == keys == TRIALS
    log = workspace.server.requests()
    asked_again = {r["last_user"] for r in log[before_resume:]}
    saved_prompts = {f"question {t.split('/q')[1].split('@')[0]}" for t in saved}
    assert not asked_again & saved_prompts  # no saved trial reached the model twice
    per_prompt = Counter(r["last_user"] for r in log)
    assert set(per_prompt) == {f"question {i}" for i in range(TRIALS)}
    # only trials in flight or unsaved at the kill were asked twice, none more often
    assert max(per_prompt.values()) <= 2
    assert sum(1 for c in per_prompt.values() if c == 2) == before_resume - len(saved)


def test_second_ctrl_c_exits_at_once_with_2_and_the_database_opens_cleanly(
    workspace: Workspace,
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(40))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 4\n")
    workspace.server.set_latency(20)
    workspace.server.script({"match": "question 7", "reply": "slow reply", "latency_ms": 600_000})
    proc = start_cli(workspace.root, "run")
    wait_for_requests(workspace, 12, proc)
    proc.send_signal(signal.SIGINT)  # drains: but one trial waits 10 minutes on the model
    time.sleep(0.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)  # far less than the hung trial's 10 minutes
    assert proc.returncode == 2, out
    assert "Ctrl-C again to stop at once" in out
    (run_id, status, done), *_ = workspace.sql(
        "SELECT run_id, status, (SELECT count(*) FROM results) FROM runs"
    )
    assert status == "interrupted" and 0 < done < 40
    assert f"evalkit resume {run_id}" in out
    con = duckdb.connect(str(workspace.db))  # writable: no stale lock, WAL replays cleanly
    try:
        con.execute("CHECKPOINT")
        assert con.execute("SELECT count(*) FROM grades").fetchone() == (done,)
    finally:
        con.close()


def test_first_ctrl_c_prints_the_resume_command(workspace: Workspace) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(30))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 2\n")
    workspace.server.set_latency(200)
    proc = start_cli(workspace.root, "run")
    wait_for_requests(workspace, 4, proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, out
    (run_id,) = workspace.sql("SELECT run_id FROM runs")[0]
    assert f"resume it with: evalkit resume {run_id}" in out


# -- refusals: a run left unfinished, then something it measures changes -----------


def crashed_run(
    ws: Workspace, cli: Callable[..., tuple[int, str]], targets: str | None = None
) -> str:
    """A finished run turned into what kill -9 leaves: status running, last batch lost."""
    ws.plan(targets or PYTHON_TARGET)
    code, out = cli("run")
    assert code in (0, 1), out
    (run_id,) = ws.sql("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0]
    con = duckdb.connect(str(ws.db))
    try:
        where = "run_id = ? AND trial_id LIKE 'support/shipping@%'"
        con.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run_id]
        )
        con.execute(f"DELETE FROM grades WHERE {where}", [run_id])
        con.execute(f"DELETE FROM results WHERE {where}", [run_id])
    finally:
        con.close()
    return str(run_id)


def test_resume_of_an_unchanged_run_adds_only_the_missing_trial(
    workspace: Workspace, cli: Callable[..., tuple[int, str]]
) -> None:
    run_id = crashed_run(workspace, cli)
    code, out = cli("resume", run_id[:12])
    assert code == 1, out  # the shipping case fails on purpose (python target)
    assert f"resuming run {run_id} (2 trials already saved)" in out
    assert workspace.sql("SELECT count(*), count(DISTINCT trial_id) FROM results") == [(3, 3)]
    assert workspace.sql("SELECT status FROM runs") == [("completed",)]
    code, out = cli("resume", run_id)
    assert code == 4 and "already completed" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("suite", "suite 'support' content changed"),
        ("grader", "case 'support/refund' grader config changed"),
        ("target", "target 'local' config changed"),
        ("grader code", "grader file 'graders/shared.py' changed"),
    ],
)
def test_resume_refuses_when_what_the_run_measures_changed(
    workspace: Workspace, cli: Callable[..., tuple[int, str]], change: str, message: str
) -> None:
    code_file = workspace.root / "graders" / "shared.py"
    code_file.parent.mkdir()
    code_file.write_text("LIMIT = 10\n")
    run_id = crashed_run(workspace, cli)
    suite = workspace.root / "suites" / "support.yaml"
    if change == "grader code":  # a workspace grader's code, not its config, was edited
        code_file.write_text("LIMIT = 20\n")
    elif change == "suite":
        suite.write_text(suite.read_text().replace("Say hello", "Say hi"))
    elif change == "grader":
        suite.write_text(suite.read_text().replace("- type: icontains\n", "- type: contains\n", 1))
    else:
        workspace.plan(PYTHON_TARGET + "    timeout: 5\n")
    code, out = cli("resume")
    assert code == 4, out
    assert f"cannot resume run {run_id}" in out and message in out
    assert "start a new run with `evalkit run`" in out
    assert workspace.sql("SELECT status FROM runs") == [("running",)]  # left as it was
    assert workspace.sql("SELECT count(*) FROM results") == [(2,)]


def test_resume_without_an_unfinished_run_says_so(
    workspace: Workspace, cli: Callable[..., tuple[int, str]]
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] == 1
    code, out = cli("resume")
    assert code == 4 and "there is no interrupted run to resume" in out
    crashed_run_id = crashed_run(workspace, cli)  # a second run, left unfinished
    code, out = cli("resume", "--plan", "other")
    assert code == 4 and "there is no interrupted run of plan 'other' to resume" in out
    code, out = cli("resume", "--plan", "support")
    assert f"resuming run {crashed_run_id}" in out
