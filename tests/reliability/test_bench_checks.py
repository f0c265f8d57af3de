"""The memory benchmark tells a run that finished with failing trials (exit 1) from one
that crashed (also exit 1, an uncaught exception): it checks the store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.benchmarks.bench_memory import check_complete, planned
from tests.reports.long_runs import RUN, build


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "runs.duckdb", 12, lambda i: f"answer {i}", 10)


def test_a_completed_run_with_every_result_passes(db: Path) -> None:
    assert check_complete(db, 12) == 12  # every trial failed its grade: still a finished run


def test_missing_results_are_a_crash(db: Path) -> None:
    with pytest.raises(SystemExit, match="completed, 12 of 20 results recorded"):
        check_complete(db, 20)


def test_a_run_left_running_is_a_crash(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [RUN])
    con.close()
    with pytest.raises(SystemExit, match="did not finish: running, 12 of 12"):
        check_complete(db, 12)


def test_the_planned_count_follows_the_workspace() -> None:
    assert (planned(500), planned(5_000), planned(20_000), planned(50_000)) == (
        500, 5_000, 20_000, 50_000,
    )  # fmt: skip
