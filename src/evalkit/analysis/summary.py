"""A run's numbers, defined once: the store counts (`evalkit.store.counting`), this
module rates. Every screen (run table, `runs`, `show`, `compare`, `trend`, HTML, the
Python API) reads its pass rate and mean score from here or from those counts.

- pass rate = passed / (passed + failed + errored): an error is a trial that did not
  pass (no answer, or a grader that could not judge); a trial whose every grade was
  skipped is left out, and the count of skipped trials is shown beside it.
- mean score = the mean over the same trials of each trial's score, an errored trial
  scoring 0 (a grader error never raises a score).
- The run table's interval is over cases, not trials: each case's share of passing
  epochs is the unit, clustered where cases share a `cluster`
  (`evalkit.analysis.stats.case_rate_interval`), and `ci_label` says so ("95% CI over
  200 cases, 3 epochs each, 12 clusters"). With one epoch and no clusters it is
  Wilson's interval with a continuity correction. The metric and tag breakdowns use the
  same interval over the cases each metric graded or each tag marks, with their label.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import duckdb

from evalkit.analysis.stats import CaseInterval, case_rate_interval, wilson_interval
from evalkit.store import ci_rows, queries, reporting

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = [
    "suite", "target_id", "prompt_id", "trials", "passed", "failed", "errors", "skipped",
    "pass_rate", "ci_low", "ci_high", "mean_score", "p50_latency_ms", "p95_latency_ms",
    "input_tokens", "output_tokens", "cost_usd", "cached", "ci_label",
]  # fmt: skip

Variant = tuple[str, str, str | None]


def pass_rate(passed: int, graded: int) -> tuple[float | None, float | None, float | None]:
    """(rate, Wilson 95% low, high); Nones when nothing was graded."""
    if graded == 0:
        return None, None, None
    low, high = wilson_interval(passed, graded)
    return passed / graded, low, high


def mean_score(score_sum: float | None, graded: int) -> float | None:
    """The mean score over counted trials (errors scoring 0); None when none counted."""
    if not graded:
        return None
    return float(score_sum or 0.0) / graded


def known_cost(row: dict[str, Any]) -> None:
    """A row's cost stays only when every answered trial in it was priced: a sum over
    some of them would read as the whole (unknown prices show as '-', never $0)."""
    if row.pop("unpriced", 0):
        row["cost_usd"] = None


def with_rate(row: dict[str, Any], passed: str = "passed", graded: str = "graded") -> None:
    """Add pass_rate, ci_low and ci_high (Wilson 95%), and mean_score when the row has a
    score_sum, from the row's counts."""
    rate, low, high = pass_rate(int(row[passed] or 0), int(row[graded] or 0))
    row.update(pass_rate=rate, ci_low=low, ci_high=high)
    if "score_sum" in row:
        row["mean_score"] = mean_score(row.pop("score_sum"), int(row[graded] or 0))


def run_list(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` runs with their provenance, counts, pass rate and mean score."""
    rows = queries.run_rows(con, limit)
    for row in rows:
        with_rate(row)
        known_cost(row)
    return rows


def runs_frame(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """`run_list` as a DataFrame."""
    import pandas as pd  # only callers who want DataFrames pay for pandas

    return pd.DataFrame(run_list(con, limit))


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """One row per suite x target x prompt: counts, pass rate with its interval, costs."""
    rows = queries.summary_counts(con, run_id)
    intervals = case_intervals(con, run_id)
    for row in rows:
        with_rate(row)
        known_cost(row)
        interval = intervals.get((row["suite"], row["target_id"], row["prompt_id"]))
        if interval is not None and row["graded"]:
            row.update(ci_low=interval.low, ci_high=interval.high, ci_label=interval.label())
        else:
            row["ci_label"] = None
    return [{name: row[name] for name in SUMMARY_COLUMNS} for row in rows]


def summary_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """`summary_rows` as a DataFrame."""
    import pandas as pd  # only callers who want DataFrames pay for pandas

    return pd.DataFrame(summary_rows(con, run_id), columns=SUMMARY_COLUMNS)


def metric_breakdown(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per grader metric x target: counts, pass rate with its case-level interval and
    `ci_label`, mean score."""
    rows = reporting.metric_counts(con, run_id)
    intervals = _breakdown_intervals(ci_rows.metric_case_counts(con, run_id))
    for row in rows:
        with_rate(row)
        _with_case_interval(row, intervals.get((row["metric"], row["target_id"], row["prompt_id"])))
    return rows


def tag_breakdown(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per case tag x target: trials, pass rate (errors count as not passed) with its
    case-level interval and `ci_label`."""
    rows = reporting.tag_counts(con, run_id)
    intervals = _breakdown_intervals(ci_rows.tag_case_counts(con, run_id))
    for row in rows:
        with_rate(row)
        _with_case_interval(row, intervals.get((row["tag"], row["target_id"], row["prompt_id"])))
    return rows


def _with_case_interval(row: dict[str, Any], interval: CaseInterval | None) -> None:
    """The row's interval is over its cases, as the run table's; None when none graded."""
    if interval is not None and row["graded"]:
        row.update(ci_low=interval.low, ci_high=interval.high, ci_label=interval.label())
    else:
        row["ci_label"] = None


def _breakdown_intervals(
    cases: list[tuple[str, str, str | None, str | None, int, int]], confidence: float = 0.95
) -> dict[Variant, CaseInterval]:
    """(name, target, prompt) -> the case-level interval, from per-case counts."""
    means: dict[Variant, list[float]] = defaultdict(list)
    clusters: dict[Variant, list[str | None]] = defaultdict(list)
    epochs: dict[Variant, int] = defaultdict(int)
    trials: dict[Variant, int] = defaultdict(int)
    for name, target, prompt, cluster, passed, graded in cases:
        if not graded:
            continue  # every trial skipped: the case says nothing
        key = (name, target, prompt)
        means[key].append(passed / graded)
        clusters[key].append(cluster)
        epochs[key] = max(epochs[key], graded)
        trials[key] += graded
    return {
        key: case_rate_interval(values, clusters[key], trials[key], epochs[key], confidence)
        for key, values in means.items()
    }


def case_intervals(
    con: duckdb.DuckDBPyConnection, run_id: str, confidence: float = 0.95
) -> dict[Variant, CaseInterval]:
    """The case-level pass-rate interval of every suite x target x prompt of a run."""
    return _breakdown_intervals(ci_rows.case_pass_counts(con, run_id), confidence)
