"""Pure: a run history -> trend series per plan x suite x target, with drops flagged.

The rule (also in the README): for every series, the latest two runs together (the
latest alone while a series has only two) are compared with the trailing window of up
to `window` (10) runs before them. The case is the unit: each case's pass share (and
mean score) over the latest runs is paired with its own mean over the window, and a
one-sided z test asks whether the cases got worse, on the variance "stable" implies:
each case's spread across the window's runs, times 1/2 + 1/w (an exact sign-flip test
with few differing cases, the paired t test with a one-run window). Pairing takes each
case's difficulty out of the noise; two runs halve a single run's noise, so a drop is
caught on its second night; the null's variance, not the observed one, keeps a real
drop from hiding itself by widening the spread.

A drop is flagged when the p-value is below alpha / (m x nights), where m is the
number of tests made that night (one per series and metric) and `nights` the number of
nightly runs watched (14): Bonferroni over the series and metrics of one night keeps a
night's false-alarm rate at alpha / nights, and so the chance that a stable series
raises any false alarm over `nights` nights at alpha (5%). It must also be at least
`min_drop` in absolute terms, so a huge suite does not alert on a statistically real
but immaterial dip. tests/benchmarks/bench_trend_sim.py measures both promises.

Without per-case rows (older callers) the runs' pooled counts are tested instead:
one-sided two-proportion z and Welch z tests, conservative because trials of the same
cases are not independent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from statistics import NormalDist
from typing import Any

from evalkit.analysis.randomization import EXHAUSTIVE
from evalkit.analysis.stats import paired_difference, wilson_interval
from evalkit.analysis.summary import mean_score

CaseValues = Mapping[str, tuple[float, float]]  # case id -> (pass share, mean score)
# the latest two runs together are tested (the latest alone while a series has two):
# one test per series and metric a night, so each gets the whole night's alpha, and a
# drop is seen on its second night with half a single run's noise
SPAN = 2


@dataclass(frozen=True, slots=True)
class TrendRule:
    """How a drop is judged."""

    window: int = 10  # runs before the latest that form the baseline
    alpha: float = 0.05  # chance that a stable series alarms at all over `nights` runs
    min_drop: float = 0.05  # smallest absolute drop worth an alert
    nights: int = 14  # nightly runs watched: each night spends alpha / nights


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One run of one series."""

    run_id: str
    started_at: datetime
    git_sha: str | None
    passed: int
    graded: int
    pass_rate: float | None
    ci_low: float | None
    ci_high: float | None
    mean_score: float | None
    sd_score: float | None
    scored: int
    config_hash: str | None
    config_changed: bool  # the target's config/prompt/model differs from the run before
    cases: CaseValues | None = None  # per case, when the store gave them


@dataclass(frozen=True, slots=True)
class Degradation:
    """A flagged drop of the latest run against its trailing window."""

    metric: str  # "pass rate" | "mean score"
    latest: float
    baseline: float
    p_value: float
    threshold: float  # alpha / (m x nights) that p had to be below
    config_changed: bool  # the drop coincides with a config change in the window
    runs: int = 1  # the latest run alone (1) or the latest two together (2)


@dataclass(slots=True)
class TrendSeries:
    """The history of one plan x suite x target (x prompt)."""

    plan: str
    suite: str
    target_id: str
    prompt_id: str | None
    points: list[TrendPoint] = field(default_factory=list)
    degradations: list[Degradation] = field(default_factory=list)
    tests: list[tuple[str, float, float, float]] = field(default_factory=list)
    # (metric, latest, baseline, p-value) for every test made, flagged or not

    @property
    def target_label(self) -> str:
        """target[prompt], as trial ids name it."""
        return f"{self.target_id}[{self.prompt_id}]" if self.prompt_id else self.target_id

    @property
    def key(self) -> str:
        """A stable id for the series: plan/suite@target[prompt]."""
        return f"{self.plan}/{self.suite}@{self.target_label}"


def build_series(
    rows: list[dict[str, Any]], case_rows: list[dict[str, Any]] | None = None
) -> list[TrendSeries]:
    """Group history rows (oldest first per series) into series of points.

    `case_rows` (store.reporting.history_case_rows) give each point its cases' pass
    shares and mean scores, so drops are tested case by case.
    """
    by_run: dict[tuple[str, str, str, str | None], dict[str, tuple[float, float]]] = {}
    for row in case_rows or []:
        graded = int(row["graded"] or 0)
        if graded:
            key = (row["run_id"], row["suite"], row["target_id"], row["prompt_id"])
            score = _number(row.get("mean_score"))
            by_run.setdefault(key, {})[str(row["case_id"])] = (
                int(row["passed"] or 0) / graded,
                0.0 if score is None else score,
            )
    series: dict[tuple[str, str, str, str | None], TrendSeries] = {}
    for row in rows:
        key = (row["plan"], row["suite"], row["target_id"], row["prompt_id"])
        one = series.setdefault(key, TrendSeries(*key))
        graded, passed = int(row["graded"] or 0), int(row["passed"] or 0)
        low, high = wilson_interval(passed, graded) if graded else (None, None)
        before = one.points[-1].config_hash if one.points else None
        one.points.append(
            TrendPoint(
                run_id=row["run_id"],
                started_at=row["started_at"],
                git_sha=row.get("git_sha"),
                passed=passed,
                graded=graded,
                pass_rate=passed / graded if graded else None,
                ci_low=low,
                ci_high=high,
                mean_score=mean_score(row.get("score_sum"), graded),
                sd_score=_number(row.get("sd_score")),
                scored=int(row.get("scored") or 0),
                config_hash=row.get("config_hash"),
                config_changed=bool(one.points) and row.get("config_hash") != before,
                cases=by_run.get((row["run_id"], *key[1:])) if case_rows is not None else None,
            )
        )
    return list(series.values())


def flag_degradations(all_series: list[TrendSeries], rule: TrendRule) -> int:
    """Test every series' latest two runs against its window; flag drops. Returns the tests."""
    planned: list[tuple[TrendSeries, str, float, float, float, bool, int]] = []
    newest: dict[str, datetime] = {}
    for one in all_series:
        if one.points:
            at = one.points[-1].started_at
            newest[one.plan] = max(newest.get(one.plan, at), at)
    for one in all_series:
        if len(one.points) < 2:
            continue  # nothing to compare the first run with
        if one.points[-1].started_at < newest[one.plan]:
            continue  # not in the plan's latest run (e.g. skipped): its old news is not news
        span = min(SPAN, len(one.points) - 1)
        latest = one.points[-span:]
        window = one.points[-span - rule.window : -span]
        changed = any(p.config_changed for p in latest) or any(p.config_changed for p in window[1:])
        for metric, test in (("pass rate", 0), ("mean score", 1)):
            if test == 1 and _score_is_pass(latest + window):
                continue  # the same numbers tested twice would only spend alpha twice
            found = _case_test(latest, window, test)
            if found is None and test == 0:
                found = _rate_test(latest, window)
            elif found is None:
                found = _score_test(latest, window)
            if found is not None:
                planned.append((one, metric, *found, changed, span))
    threshold = rule.alpha / (max(len(planned), 1) * max(rule.nights, 1))
    for one, metric, now, base, p, changed, span in planned:
        one.tests.append((metric if span == 1 else f"{metric} (last {span} runs)", now, base, p))
        if p < threshold and base - now >= rule.min_drop:
            one.degradations.append(Degradation(metric, now, base, p, threshold, changed, span))
    return len(planned)


def _score_is_pass(points: list[TrendPoint]) -> bool:
    """Whether every case's mean score is its pass share (a pass/fail suite's score)."""
    return all(p.cases is not None for p in points) and all(
        share == score for p in points if p.cases for share, score in p.cases.values()
    )


def _case_test(
    latest: list[TrendPoint], window: list[TrendPoint], which: int
) -> tuple[float, float, float] | None:
    """(latest, baseline, one-sided p) pairing each case with itself; None without cases."""
    maps = [p.cases for p in (*latest, *window)]
    if any(m is None for m in maps):
        return None
    shared = set.intersection(*(set(m) for m in maps if m is not None))
    if len(shared) < 2:
        return None
    keys = sorted(shared)
    now = [sum(p.cases[k][which] for p in latest if p.cases) / len(latest) for k in keys]
    before = [sum(p.cases[k][which] for p in window if p.cases) / len(window) for k in keys]
    paired = paired_difference(before, now)
    if math.isnan(paired.p_drop):
        return None
    p_drop = paired.p_drop
    if paired.nonzero > EXHAUSTIVE and len(window) >= 2:
        # under "stable" every run of a case is a draw from one distribution, so each
        # case's spread across the window's runs estimates its run-to-run variance, and
        # the difference of a mean of s runs and a mean of w has variance var (1/s + 1/w).
        # A z test on that null variance is sharper than the paired t's, whose variance
        # a real drop inflates (bench_trend_sim.py measures both promises)
        runs = [p.cases for p in window if p.cases]
        spreads = [_variance([run[k][which] for run in runs]) for k in keys]
        variance = math.fsum(spreads) / len(keys) * (1 / len(latest) + 1 / len(window))
        # the normal tail is trusted only when many cases carry the noise: a window in
        # which a handful of cases ever moved says little about the variance
        if sum(1 for v in spreads if v > 0.0) > EXHAUSTIVE:
            p_drop = NormalDist().cdf(paired.difference / math.sqrt(variance / len(keys)))
    return paired.candidate_mean, paired.base_mean, p_drop


def _variance(values: list[float]) -> float:
    """Sample variance (n - 1) in plain floats (statistics.variance is exact and slow)."""
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _rate_test(
    latest: list[TrendPoint], window: list[TrendPoint]
) -> tuple[float, float, float] | None:
    n1, k1 = sum(p.graded for p in latest), sum(p.passed for p in latest)
    n0, k0 = sum(p.graded for p in window), sum(p.passed for p in window)
    if n1 == 0 or n0 == 0:
        return None
    p1, p0 = k1 / n1, k0 / n0
    pooled = (k0 + k1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    if se == 0:  # both all-pass or both all-fail: no evidence of any change
        return p1, p0, 1.0
    return p1, p0, NormalDist().cdf((p1 - p0) / se)


def _score_test(
    latest_runs: list[TrendPoint], window: list[TrendPoint]
) -> tuple[float, float, float] | None:
    latest = _pooled(latest_runs)
    usable = [p for p in window if p.mean_score is not None and p.scored > 0]
    if latest is None or latest.mean_score is None or latest.scored < 2 or not usable:
        return None
    n0 = sum(p.scored for p in usable)
    m0 = sum(p.mean_score * p.scored for p in usable if p.mean_score is not None) / n0
    # pooled within-run variance of the window (between-run spread would hide real drops)
    ss = sum((p.sd_score or 0.0) ** 2 * (p.scored - 1) for p in usable)
    df = sum(p.scored - 1 for p in usable)
    var0 = ss / df if df > 0 else 0.0
    var1 = (latest.sd_score or 0.0) ** 2
    se = math.sqrt(var0 / n0 + var1 / latest.scored)
    if se == 0:
        return latest.mean_score, m0, (0.0 if latest.mean_score < m0 else 1.0)
    return latest.mean_score, m0, NormalDist().cdf((latest.mean_score - m0) / se)


def _pooled(points: list[TrendPoint]) -> TrendPoint | None:
    """Several runs as one: their scores pooled (mean and within-run sd)."""
    if len(points) == 1:
        return points[0]
    usable = [p for p in points if p.mean_score is not None and p.scored > 0]
    if not usable:
        return None
    n = sum(p.scored for p in usable)
    mean = sum((p.mean_score or 0.0) * p.scored for p in usable) / n
    df = sum(p.scored - 1 for p in usable)
    ss = sum((p.sd_score or 0.0) ** 2 * (p.scored - 1) for p in usable)
    sd = math.sqrt(ss / df) if df > 0 else 0.0
    return replace(usable[-1], mean_score=mean, sd_score=sd, scored=n)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
