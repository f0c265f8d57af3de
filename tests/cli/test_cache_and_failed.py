"""`evalkit cache stats | clear` and `evalkit run --failed [RUN]`."""

from __future__ import annotations

from collections.abc import Callable

from evalkit.cli.run import with_failed_default
from tests.cli.conftest import PYTHON_TARGET, Workspace, openai_target

Cli = Callable[..., tuple[int, str]]


def test_cache_stats_and_clear_by_age_and_target(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(openai_target(workspace.server) + PYTHON_TARGET)
    code, _ = cli("run")
    assert code == 1  # the local system cannot answer "shipping"
    code, out = cli("cache", "stats")
    assert code == 0
    assert "3 entries" in out and "openai" in out
    assert cli("cache", "clear", "--older-than", "1d") == (0, "deleted 0 cached responses\n")
    assert cli("cache", "clear", "--target", "local")[1] == "deleted 0 cached responses\n"
    code, out = cli("cache", "clear", "--older-than", "3x")
    assert code == 4 and "not a duration" in out
    assert cli("cache", "clear", "--target", "gpt")[1] == "deleted 3 cached responses\n"
    assert workspace.sql("SELECT count(*) FROM response_cache") == [(0,)]
    assert "the response cache is empty" in cli("cache", "stats")[1]
    # the next run calls the model again and refills the cache
    cli("run")
    assert workspace.sql("SELECT count(*) FROM response_cache") == [(3,)]
    assert cli("cache", "clear")[1] == "deleted 3 cached responses\n"


def test_run_failed_reruns_only_the_failures(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] == 1
    first = workspace.sql("SELECT run_id FROM runs")[0][0]
    code, out = cli("run", "--failed")
    assert code == 1, out
    rerun = workspace.sql("SELECT run_id, trials_planned FROM runs WHERE run_id <> ? ", [first])
    assert len(rerun) == 1 and rerun[0][1] == 1
    rows = workspace.sql("SELECT trial_id, status FROM results WHERE run_id = ?", [rerun[0][0]])
    assert rows == [("support/shipping@local#0", "fail")]
    # fix the system: rerunning the first run's failures now passes, exit 0
    # (a new module: this process has imported system.py already)
    system = (workspace.root / "system.py").read_text()
    (workspace.root / "fixed.py").write_text(system.replace("I am not sure.", "In 3 days."))
    workspace.plan(PYTHON_TARGET.replace("system.py", "fixed.py"))
    code, out = cli("run", "--failed", first)
    assert code == 0, out
    code, out = cli("run", "--failed")
    assert code == 4 and "no failed or errored trials" in out


def test_a_bare_failed_means_the_latest_run() -> None:
    assert with_failed_default(["run", "--failed"]) == ["run", "--failed", "latest"]
    assert with_failed_default(["run", "--failed", "-k", "x"]) == [
        "run",
        "--failed",
        "latest",
        "-k",
        "x",
    ]
    assert with_failed_default(["run", "p", "--failed", "2026"]) == ["run", "p", "--failed", "2026"]
