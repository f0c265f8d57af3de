"""A run's end reads calibration only where a judge graded: the join of every grade
with its result and case, asked of a run with none, ran out of DuckDB's memory cap
after 100,000 rule-graded trials and left the run `running`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from evalkit.analysis.calibration_history import judge_calibration
from tests.reports.long_runs import RUN, build


def test_a_run_without_model_graded_grades_skips_calibration_within_a_small_cap(
    tmp_path: Path,
) -> None:
    db = build(tmp_path / "rules.duckdb", 20_000, lambda i: "answer", 10)
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = '8MB'")  # the join needed more at 20,000 trials
    notices: list[str] = []
    assert judge_calibration(con, RUN, None, notices.append) == {}
    assert notices == []
