"""Read helpers: run references, frames, the summary's numbers, exports, the view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from evalkit.analysis import summary
from evalkit.errors import UsageError
from evalkit.records import Status
from evalkit.store import queries
from evalkit.store.db import Store
from tests.store import factories as f

T0 = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC)
OLD, MID, NEW = "20261127T050000-aaaaaa", "20261127T060000-aaaaab", "20261127T070000-bbbbbb"


def _mid_run_results() -> list:  # type: ignore[type-arg]
    """The run whose numbers the summary tests check by hand."""
    c = {i: f.case(case_id=f"c{i}") for i in range(1, 6)}
    billing = f.case(suite="billing", case_id="b1")
    contains_fail = f.grade("contains", Status.FAIL, "missing 'yes'")
    regex_pass = f.grade("regex", Status.PASS)
    return [
        f.result(MID, c[1], latency_ms=100),
        f.result(MID, c[2], latency_ms=200, cached=True, cost_usd=0.0),
        f.result(MID, c[3], latency_ms=300, status=Status.FAIL, grades=[contains_fail, regex_pass]),
        f.result(MID, c[4], latency_ms=400, status=Status.ERROR, error=f.timeout(),
                 cost_usd=None, tokens=(0, 0)),
        f.result(MID, c[5], latency_ms=500, status=Status.SKIPPED),
        f.result(MID, c[1], prompt="terse", status=Status.FAIL),
        f.result(MID, billing, status=Status.ERROR, error=f.timeout()),
    ]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Three runs: OLD and MID of plan demo, NEW of plan other; MID has the results."""
    with f.open_store(tmp_path) as opened:
        results = _mid_run_results()
        for hours, run_id, plan in ((0, OLD, "demo"), (1, MID, "demo"), (2, NEW, "other")):
            cases = [r.case for r in results] if run_id == MID else []
            f.start(opened, run_id, cases, plan=plan, started=T0 + timedelta(hours=hours))
        writer = opened.writer(MID)
        for result in results:
            writer.put(result)
        writer.put(f.result(OLD, f.case(case_id="c1")))
        writer.close()
        yield opened


def test_latest_and_latest_n(store: Store) -> None:
    assert queries.resolve_run(store.con, "latest") == NEW
    assert queries.resolve_run(store.con, "latest~1") == MID
    assert queries.resolve_run(store.con, "latest~2") == OLD
    assert queries.resolve_run(store.con, "latest", plan="demo") == MID
    assert queries.resolve_run(store.con, "latest~1", plan="demo") == OLD
    with pytest.raises(UsageError) as caught:
        queries.resolve_run(store.con, "latest~3")
    message = str(caught.value)
    assert "there is no run 'latest~3'" in message
    assert f"{NEW} (other)" in message and f"{OLD} (demo)" in message


@pytest.mark.parametrize("ref", ["", " ", "\t\n"])
def test_an_empty_run_reference_is_refused(store: Store, ref: str) -> None:
    with pytest.raises(UsageError, match="is not a run reference") as caught:
        queries.resolve_run(store.con, ref)
    assert caught.value.exit_code == 4


def test_latest_n_takes_ascii_digits_only(store: Store) -> None:
    with pytest.raises(UsageError, match="no run matches 'latest~\uff11'"):
        queries.resolve_run(store.con, "latest~\uff11")  # fullwidth 1


def test_a_very_long_reference_is_shortened_in_the_error(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        queries.resolve_run(store.con, "x" * 5000)
    message = str(caught.value)
    assert "x" * 200 + "... (5,000 characters)" in message
    assert "x" * 201 not in message


def test_full_ids_and_unique_prefixes(store: Store) -> None:
    assert queries.resolve_run(store.con, MID) == MID
    assert queries.resolve_run(store.con, "20261127T06") == MID
    assert queries.resolve_run(store.con, "20261127T0", plan="other") == NEW


def test_an_ambiguous_prefix_lists_the_matches(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        queries.resolve_run(store.con, "20261127T0")
    message = str(caught.value)
    assert "run prefix '20261127T0' is ambiguous: 3 runs match" in message
    assert OLD in message and MID in message and NEW in message


def test_an_unknown_run_lists_recent_runs(store: Store) -> None:
    with pytest.raises(UsageError) as caught:
        queries.resolve_run(store.con, "2025")
    assert "no run matches '2025'; recent runs:" in str(caught.value)
    assert NEW in str(caught.value)


def test_resolving_in_an_empty_database_says_so(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as empty, pytest.raises(UsageError, match="no runs recorded yet"):
        queries.resolve_run(empty.con, "latest")


def test_summary_numbers_match_a_hand_count(store: Store) -> None:
    frame = summary.summary_frame(store.con, MID)
    assert list(frame.columns) == [
        "suite", "target_id", "prompt_id", "trials", "passed", "failed", "errors", "skipped",
        "pass_rate", "ci_low", "ci_high", "mean_score", "p50_latency_ms", "p95_latency_ms",
        "input_tokens", "output_tokens", "cost_usd", "cached", "ci_label",
    ]  # fmt: skip
    billing, plain, terse = (row._asdict() for row in frame.itertuples(index=False))
    assert (billing["suite"], billing["trials"], billing["errors"]) == ("billing", 1, 1)
    # its one trial errored: an error is a trial that did not pass
    assert (billing["pass_rate"], billing["ci_low"]) == (0.0, 0.0)

    assert (plain["suite"], plain["target_id"]) == ("refunds", "model-a")
    assert pd.isna(plain["prompt_id"])
    assert [plain[k] for k in ("trials", "passed", "failed", "errors", "skipped", "cached")] == [
        5, 2, 1, 1, 1, 1,
    ]  # fmt: skip
    assert plain["pass_rate"] == pytest.approx(2 / 4)  # the error counts, the skip does not
    # Wilson 95% with continuity correction for 2/4, worked by hand with z² = 3.841459:
    # (2np + z² - 1 - z sqrt(z² - 2 - 1/n + 4p(n(1 - p) + 1))) / (2(n + z²))
    # = (6.841459 - 1.959964 * sqrt(7.591459)) / 15.682918 = 0.09190, and 1 - that above
    assert plain["ci_low"] == pytest.approx(0.09190, abs=5e-5)
    assert plain["ci_high"] == pytest.approx(0.90810, abs=5e-5)
    # one epoch, no clusters: the case-level interval is Wilson's (continuity-corrected)
    # over the 4 graded cases
    assert plain["ci_label"] == "95% CI over 4 cases"
    # 1, 1, 0 and the error's 0 (an errored trial scores 0); the skip is left out
    assert plain["mean_score"] == pytest.approx(2 / 4)
    assert plain["p50_latency_ms"] == pytest.approx(300.0)
    assert plain["p95_latency_ms"] == pytest.approx(480.0)  # 400 + 0.8 * (500 - 400)
    assert (plain["input_tokens"], plain["output_tokens"]) == (40, 20)
    assert plain["cost_usd"] == pytest.approx(0.003)  # the cached trial cost nothing

    assert (terse["prompt_id"], terse["trials"], terse["pass_rate"]) == ("terse", 1, 0.0)
    # 0 of 1: the upper bound is (z² + 1 + z sqrt(z² + 1)) / (2(1 + z²))
    # = (4.841459 + 1.959964 * 2.200332) / 9.682918 = 0.94538
    assert (terse["ci_low"], terse["ci_high"]) == (0.0, pytest.approx(0.94538, abs=5e-5))


def test_failures_carry_the_failing_grades_reasons(store: Store) -> None:
    frame = queries.failures_frame(store.con, MID, limit=10)
    assert list(frame["trial_id"]) == [
        "billing/b1@model-a#0", "refunds/c1@model-a[terse]#0", "refunds/c3@model-a#0",
        "refunds/c4@model-a#0",
    ]  # fmt: skip
    rows = {r.trial_id: r for r in frame.itertuples(index=False)}
    assert list(rows["refunds/c3@model-a#0"].reasons) == ["contains: missing 'yes'"]
    assert list(rows["refunds/c1@model-a[terse]#0"].reasons) == ["contains: fail"]
    timed_out = rows["refunds/c4@model-a#0"]
    assert (timed_out.status, timed_out.error_kind) == ("error", "timeout")
    assert list(timed_out.reasons) == []
    limited = queries.failures_frame(store.con, MID, limit=2)
    assert len(limited) == 2 and limited.attrs["total"] == 4


def test_results_and_grades_frames(store: Store) -> None:
    results = queries.results_frame(store.con, MID)
    grades = queries.grades_frame(store.con, MID)
    assert len(results) == 7
    first = results.iloc[0]
    assert (first["suite"], first["case_id"]) == ("billing", "b1")
    assert json.loads(first["vars"]) == {"question": "what about b1?"}
    assert list(first["tags"]) == ["smoke"]
    c3 = grades[grades["case_id"] == "c3"]
    assert list(c3["metric"]) == ["contains", "regex"]
    assert list(c3["status"]) == ["fail", "pass"]
    assert set(grades["target_id"]) == {"model-a"}
    assert len(grades) == 5  # c1, c2, c3 (two), terse c1; errors and skips have none


def test_list_runs_newest_first_with_pass_rates(store: Store) -> None:
    frame = summary.runs_frame(store.con, limit=2)
    assert list(frame["run_id"]) == [NEW, MID]
    new, mid = (row._asdict() for row in frame.itertuples(index=False))
    assert new["trials"] == 0 and pd.isna(new["pass_rate"])
    assert (mid["trials"], mid["passed"], mid["failed"], mid["errors"]) == (7, 2, 2, 2)
    # one definition: the run table's rate (errors count as not passed, the skip is out)
    assert mid["pass_rate"] == pytest.approx(2 / 6)
    (table,) = [r for r in summary.summary_rows(store.con, MID) if r["suite"] == "refunds"][:1]
    assert table["pass_rate"] == pytest.approx(2 / 4)  # the same rule on one suite x target
    assert json.loads(mid["labels"]) == {"branch": "main"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_reads_back(store: Store, tmp_path: Path, fmt: queries.ExportFormat) -> None:
    out = queries.export_run(store.con, MID, fmt, tmp_path / "out" / f"mid.{fmt}")
    # all_varchar: the CSV sniffer would otherwise read the output "yes" as a boolean
    reader = {"csv": "read_csv(?, all_varchar=true)", "jsonl": "read_json(?)",
              "parquet": "read_parquet(?)"}[fmt]  # fmt: skip
    back = (
        duckdb.connect()
        .execute(
            f"SELECT * FROM {reader} ORDER BY suite, case_id, target_id, prompt_id NULLS FIRST",
            [str(out)],
        )
        .df()
    )
    assert len(back) == 7
    assert {"trial_id", "status", "output", "vars", "tags", "grades"} <= set(back.columns)
    row = back[back["trial_id"] == "refunds/c3@model-a#0"].iloc[0]
    grades = json.loads(row["grades"]) if fmt == "csv" else list(row["grades"])
    assert [(g["metric"], g["status"], g["reason"]) for g in grades] == [
        ("contains", "fail", "missing 'yes'"), ("regex", "pass", ""),
    ]  # fmt: skip
    assert row["status"] == "fail" and row["output"] == "yes"


def test_the_trials_view_joins_runs_results_and_cases(store: Store) -> None:
    rows = store.con.execute(
        "SELECT plan, run_status, suite, case_id, status, expected, tags FROM trials "
        "WHERE run_id = ? AND case_id = 'c3' AND prompt_id IS NULL",
        [MID],
    ).fetchall()
    assert rows == [("demo", "running", "refunds", "c3", "fail", '"yes"', ["smoke"])]
