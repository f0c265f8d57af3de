"""Pure: a run history -> trend series per plan x suite x target, with drops flagged.

The rule (also in the README): for every series, the latest run is compared with the
pooled trailing window of up to `window` runs before it.

- pass rate: one-sided two-proportion z-test (pooled standard error), H1 "the latest
  run passes less often than the window";
- mean score: one-sided Welch z-test on the means (per-run sd and n from the store).

A drop is flagged when the p-value is below alpha / m, where m is the number of tests
made that night (Bonferroni): with dozens of suite x target series, an unadjusted 5%
test would raise a false alarm most nights. It must also be at least `min_drop` in
absolute terms, so a huge suite does not alert on a statistically real but immaterial
dip. Trials of the same cases across runs are not independent; pooling them makes the
test a little conservative, which is the right direction for an alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

from evalkit.analysis.stats import wilson_interval
from evalkit.analysis.summary import mean_score


@dataclass(frozen=True, slots=True)
class TrendRule:
    """How a drop is judged."""

    window: int = 5  # runs before the latest that form the baseline
    alpha: float = 0.05  # family-wise false-alarm rate per `evalkit trend`
    min_drop: float = 0.05  # smallest absolute drop worth an alert


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


@dataclass(frozen=True, slots=True)
class Degradation:
    """A flagged drop of the latest run against its trailing window."""

    metric: str  # "pass rate" | "mean score"
    latest: float
    baseline: float
    p_value: float
    threshold: float  # alpha / m that p had to be below
    config_changed: bool  # the drop coincides with a config change in the window


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


def build_series(rows: list[dict[str, Any]]) -> list[TrendSeries]:
    """Group history rows (oldest first per series) into series of points."""
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
            )
        )
    return list(series.values())


def flag_degradations(all_series: list[TrendSeries], rule: TrendRule) -> int:
    """Test every series' latest run against its window; flag drops. Returns the tests made."""
    planned: list[tuple[TrendSeries, str, float, float, float, bool]] = []
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
        latest, window = one.points[-1], one.points[-1 - rule.window : -1]
        changed = latest.config_changed or any(p.config_changed for p in window[1:])
        rate = _rate_test(latest, window)
        if rate is not None:
            planned.append((one, "pass rate", *rate, changed))
        score = _score_test(latest, window)
        if score is not None:
            planned.append((one, "mean score", *score, changed))
    threshold = rule.alpha / max(len(planned), 1)
    for one, metric, now, base, p, changed in planned:
        one.tests.append((metric, now, base, p))
        if p < threshold and base - now >= rule.min_drop:
            one.degradations.append(Degradation(metric, now, base, p, threshold, changed))
    return len(planned)


def _rate_test(latest: TrendPoint, window: list[TrendPoint]) -> tuple[float, float, float] | None:
    n1, k1 = latest.graded, latest.passed
    n0, k0 = sum(p.graded for p in window), sum(p.passed for p in window)
    if n1 == 0 or n0 == 0:
        return None
    p1, p0 = k1 / n1, k0 / n0
    pooled = (k0 + k1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    if se == 0:  # both all-pass or both all-fail: no evidence of any change
        return p1, p0, 1.0
    return p1, p0, NormalDist().cdf((p1 - p0) / se)


def _score_test(latest: TrendPoint, window: list[TrendPoint]) -> tuple[float, float, float] | None:
    usable = [p for p in window if p.mean_score is not None and p.scored > 0]
    if latest.mean_score is None or latest.scored < 2 or not usable:
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


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
