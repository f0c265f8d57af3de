"""Point 5 of issue 6: two runs on one database, and readers while a run writes."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.cli.conftest import Workspace, anthropic_target
from tests.harness import many_cases, start_cli
from tests.reliability.test_resume import wait_for_requests

CASES = 60


class OutputWatcher:
    """Reads a process's output as it comes, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._chunks: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self._chunks.append(line)

    def text(self) -> str:
        """What was printed so far, with rich's line wrapping undone."""
        return " ".join("".join(self._chunks).split())

    def wait_for(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.text() and time.monotonic() < deadline:
            time.sleep(0.05)
        return needle in self.text()

    def finish(self, timeout: float) -> str:
        self._thread.join(timeout)
        return self.text()


def test_two_runs_on_one_database_both_finish_with_every_row(workspace: Workspace) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(CASES))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 4\n")
    # the first is held until the second is seen waiting, however slowly the second
    # starts on a loaded machine; then it is let go and both finish
    workspace.server.set_latency(5000)
    first = start_cli(workspace.root, "run")
    wait_for_requests(workspace, 4, first)  # the first holds the database now
    second = start_cli(workspace.root, "run", "--no-cache")
    watcher = OutputWatcher(second)
    seen_waiting = watcher.wait_for("waiting for it to finish", timeout=90)
    workspace.server.set_latency(0)
    out_first, _ = first.communicate(timeout=120)
    second.wait(timeout=120)
    out_second = watcher.finish(timeout=10)
    assert seen_waiting, out_second
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "is in use by another evalkit process (PID" in out_second
    assert "waiting for it to finish" in out_second
    for out in (out_first, out_second):
        assert "Could not set lock" not in out and "Traceback" not in out
    rows = workspace.sql(
        "SELECT r.status, count(t.trial_id), count(DISTINCT t.trial_id) "
        "FROM runs r JOIN results t USING (run_id) GROUP BY r.run_id, r.status"
    )
    assert rows == [("completed", CASES, CASES)] * 2
    assert workspace.server.request_count() == 2 * CASES  # --no-cache: both really ran


def test_the_wait_is_bounded_and_says_how_to_wait_longer(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(CASES))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 2\n")
    workspace.server.set_latency(5000)  # the first is killed, so a long run costs nothing
    first = start_cli(workspace.root, "run")
    wait_for_requests(workspace, 2, first)
    monkeypatch.setenv("EVALKIT_DB_WAIT", "1")
    second = start_cli(workspace.root, "run")
    out, _ = second.communicate(timeout=60)
    first.kill()
    first.communicate()
    assert second.returncode == 3, out
    out = " ".join(out.split())
    assert "gave up after waiting 1s" in out and "set EVALKIT_DB_WAIT to wait longer" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("command", [["runs"], ["show"], ["report", "latest"], ["export"]])
def test_readers_during_a_run_explain_who_holds_the_database(
    workspace: Workspace, command: list[str]
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(CASES))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 2\n")
    workspace.server.set_latency(5000)  # killed once the reader is done
    run = start_cli(workspace.root, "run")
    try:
        wait_for_requests(workspace, 2, run)
        reader = start_cli(workspace.root, *command)
        out, _ = reader.communicate(timeout=60)
    finally:
        run.kill()
        run.communicate()
    assert reader.returncode == 3, out
    out = " ".join(out.split())  # rich wraps long lines at the terminal width
    assert f"in use by another evalkit process (PID {run.pid})" in out
    assert "Traceback" not in out and "IO Error" not in out
