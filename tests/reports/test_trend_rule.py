"""The degradation rule on hand-made histories (trend.py is pure)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evalkit.analysis.trend import TrendRule, build_series, flag_degradations

np = pytest.importorskip("numpy")
scipy_stats = pytest.importorskip("scipy.stats")

START = datetime(2026, 11, 1, tzinfo=UTC)


def history(
    results: list[tuple[int, int]],
    *,
    suite: str = "refunds",
    configs: list[str] | None = None,
    score_sd: float = 0.3,
) -> list[dict[str, Any]]:
    """Rows as store.reporting.history_rows gives them: (passed, graded) per run."""
    rows = []
    for i, (passed, graded) in enumerate(results):
        rows.append(
            {
                "plan": "nightly", "run_id": f"run{i:02d}", "started_at": START + timedelta(days=i),
                "git_sha": None, "suite": suite, "target_id": "model", "prompt_id": None,
                "config_hash": (configs or ["sha256:a"] * len(results))[i],
                "passed": passed, "graded": graded, "score_sum": float(passed),
                "sd_score": score_sd, "scored": graded,
            }
        )  # fmt: skip
    return rows


def test_a_steady_series_is_not_flagged() -> None:
    series = build_series(history([(45, 50), (46, 50), (44, 50), (45, 50), (46, 50), (44, 50)]))
    tests = flag_degradations(series, TrendRule())
    assert tests == 2  # pass rate and mean score, of the latest two runs together
    assert series[0].degradations == []


def test_a_clear_drop_against_the_window_is_flagged() -> None:
    series = build_series(history([(45, 50), (46, 50), (44, 50), (45, 50), (30, 50), (30, 50)]))
    flag_degradations(series, TrendRule())
    (rate, *_) = series[0].degradations
    assert rate.metric == "pass rate" and rate.runs == 2
    assert rate.latest == pytest.approx(0.6)
    assert rate.baseline == pytest.approx(180 / 200)
    assert rate.p_value < 1e-6
    assert rate.config_changed is False


def test_a_drop_within_the_noise_of_a_small_suite_is_not_flagged() -> None:
    # 8/10 after five runs of 9/10: a 10-point drop, but one case's worth
    series = build_series(history([(9, 10)] * 5 + [(8, 10)]))
    flag_degradations(series, TrendRule())
    assert series[0].degradations == []
    (metric, latest, baseline, p) = series[0].tests[0]
    assert (metric, latest, baseline) == ("pass rate (last 2 runs)", 0.85, 0.9) and p > 0.1


def test_only_the_trailing_window_is_the_baseline() -> None:
    # long ago it was worse; the three runs before the latest two are the baseline
    series = build_series(
        history([(20, 50), (20, 50), (45, 50), (45, 50), (45, 50), (44, 50), (45, 50)])
    )
    flag_degradations(series, TrendRule(window=3))
    assert series[0].tests[0][2] == pytest.approx(0.9)
    assert series[0].degradations == []


def test_bonferroni_more_series_need_stronger_evidence() -> None:
    runs = [(90, 100)] * 4 + [(84, 100)] * 2  # one-sided p about 0.017
    one = build_series(history(runs))
    flag_degradations(one, TrendRule(min_drop=0.0, nights=1))
    assert "pass rate" in [d.metric for d in one[0].degradations]  # 0.017 < 0.05 / 2

    steady = [(90, 100)] * 6
    many = build_series(
        history(runs) + [r for i in range(20) for r in history(steady, suite=f"s{i:02d}")]
    )
    tests = flag_degradations(many, TrendRule(min_drop=0.0, nights=1))
    assert tests == 42
    dropped = next(s for s in many if s.suite == "refunds")
    assert dropped.tests[0][3] > 0.05 / 42  # same drop, same p ...
    assert all(d.metric != "pass rate" for d in dropped.degradations)  # ... not flagged now


def test_min_drop_ignores_a_real_but_immaterial_dip() -> None:
    runs = [(9500, 10000)] * 4 + [(9350, 10000)] * 2  # significant, 1.5 points
    series = build_series(history(runs))
    flag_degradations(series, TrendRule(min_drop=0.05))
    assert series[0].tests[0][3] < 1e-6
    assert series[0].degradations == []


def test_config_changes_are_marked_and_reported_with_the_drop() -> None:
    configs = ["sha256:a", "sha256:a", "sha256:a", "sha256:a", "sha256:a", "sha256:b"]
    series = build_series(history([(45, 50)] * 5 + [(25, 50)], configs=configs))
    flag_degradations(series, TrendRule())
    points = series[0].points
    assert [p.config_changed for p in points] == [False] * 5 + [True]
    assert series[0].degradations and all(d.config_changed for d in series[0].degradations)


def test_a_single_run_has_nothing_to_compare_with() -> None:
    series = build_series(history([(10, 50)]))
    assert flag_degradations(series, TrendRule()) == 0
    assert series[0].degradations == []


def test_the_interval_band_is_wilson() -> None:
    (series,) = build_series(history([(0, 10), (10, 10)]))
    first, second = series.points
    assert first.ci_low == 0.0 and first.ci_high == pytest.approx(0.2775, abs=1e-4)
    assert second.ci_high == 1.0 and second.ci_low == pytest.approx(0.7225, abs=1e-4)


def test_a_series_missing_from_the_latest_run_is_not_tested_again() -> None:
    # suite "old" dropped on run 5, then stopped running; "refunds" ran on to run 7
    old = history([(45, 50)] * 5 + [(20, 50)], suite="old")
    steady = history([(45, 50)] * 8)
    series = build_series(old + steady)
    assert flag_degradations(series, TrendRule()) == 2  # only "refunds" is tested
    assert all(not s.degradations for s in series)


def test_each_night_spends_alpha_over_the_nights_watched() -> None:
    runs = [(90, 100)] * 4 + [(84, 100)] * 2  # one-sided p about 0.017
    for nights, flagged in ((1, True), (14, False)):
        series = build_series(history(runs))
        flag_degradations(series, TrendRule(min_drop=0.0, nights=nights))
        assert bool(series[0].degradations) is flagged
        if flagged:
            assert series[0].degradations[0].threshold == pytest.approx(0.05 / 2)


def cases_of(outcomes: list[list[bool]]) -> list[dict[str, Any]]:
    """Per-case rows as store.reporting.history_case_rows gives them, one list per run."""
    return [
        {"run_id": f"run{i:02d}", "suite": "refunds", "target_id": "model", "prompt_id": None,
         "case_id": f"c{c:03d}", "passed": int(ok), "graded": 1, "mean_score": float(ok)}
        for i, run in enumerate(outcomes) for c, ok in enumerate(run)
    ]  # fmt: skip


def test_cases_are_paired_with_themselves_across_runs() -> None:
    # 200 cases: 150 always pass, 50 always fail; then 30 of the passing ones fail
    steady = [c < 150 for c in range(200)]
    dropped = [c < 120 for c in range(200)]
    runs = [steady] * 5 + [dropped]
    counts = [(sum(r), 200) for r in runs]
    paired = build_series(history(counts), cases_of(runs))
    flag_degradations(paired, TrendRule())
    assert ("pass rate", 2) in {(d.metric, d.runs) for d in paired[0].degradations}
    # a pass/fail suite's score is its pass rate: tested once, not twice
    assert [t[0] for t in paired[0].tests] == ["pass rate (last 2 runs)"]
    # the same counts pooled as independent trials give far weaker evidence
    pooled = build_series(history(counts))
    flag_degradations(pooled, TrendRule())
    assert pooled[0].tests[0][3] > paired[0].tests[0][3]
    # the drop is flagged again on its second night, by the two-run test as well
    runs.append(dropped)
    second = build_series(history([(sum(r), 200) for r in runs]), cases_of(runs))
    flag_degradations(second, TrendRule())
    assert any(d.runs == 2 for d in second[0].degradations)


def test_the_z_test_uses_the_variance_a_stable_series_implies() -> None:
    # 200 noisy cases: 10 window runs, then 2 runs in which every case passes less often
    rng = random.Random(3)
    chance = [rng.uniform(0.05, 0.95) for _ in range(200)]
    runs = [[rng.random() < p for p in chance] for _ in range(10)]
    runs += [[rng.random() < 0.8 * p for p in chance] for _ in range(2)]
    series = build_series(history([(sum(r), 200) for r in runs]), cases_of(runs))
    flag_degradations(series, TrendRule())
    window = np.array(runs[:10], dtype=float)
    latest = np.array(runs[10:], dtype=float)
    differences = latest.mean(axis=0) - window.mean(axis=0)
    # each case's spread across the window's runs, times 1/2 + 1/10: the null variance
    variance = window.var(axis=0, ddof=1).mean() * (1 / 2 + 1 / 10)
    z = differences.mean() / math.sqrt(variance / 200)
    (metric, _, _, p) = series[0].tests[0]
    assert metric == "pass rate (last 2 runs)"
    assert p == pytest.approx(scipy_stats.norm.cdf(z), rel=1e-9)
    # the paired t test's variance grows with the drop itself: it is less sure
    t = scipy_stats.ttest_1samp(differences, 0.0, alternative="less")
    assert t.pvalue > p
    assert series[0].degradations
