"""Pure statistics for pass rates and scores: no I/O, no numpy/scipy, plain floats.

Paired comparisons follow Miller (2024), "Adding Error Bars to Evals": a normal (CLT)
interval on the mean of per-case differences, with a cluster-robust standard error when
cases are not independent. Every function here is pure and tested against scipy or
statsmodels reference values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist


def z_value(confidence: float) -> float:
    """The two-sided standard-normal critical value, e.g. 1.959964 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n is 0.

    Chosen over the normal approximation because it stays inside [0, 1] and keeps
    its coverage at the small n and extreme rates evals usually have.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    z = z_value(confidence)
    if n == 0:
        return 0.0, 1.0  # no trials: every rate is still possible
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denominator
    half = (z / denominator) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # exact bounds at the extremes, where rounding would otherwise leave 1e-17 gaps
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def mean_stderr(values: Iterable[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample sd, n - 1); NaN where undefined."""
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(data) / n
    if n == 1:
        return mean, math.nan
    variance = math.fsum((x - mean) ** 2 for x in data) / (n - 1)
    return mean, math.sqrt(variance / n)


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (q in 0..100), linearly interpolated; NaN for no values.

    Linear interpolation between order statistics (Hyndman & Fan type 7) is what
    numpy and DuckDB's quantile_cont use, so numbers agree with SQL users' own.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    data = sorted(float(v) for v in values)
    if not data:
        return math.nan
    position = (len(data) - 1) * q / 100.0
    below = math.floor(position)
    above = min(below + 1, len(data) - 1)
    fraction = position - below
    return data[below] + (data[above] - data[below]) * fraction


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """The mean of per-case differences (candidate - base) with its CLT interval."""

    n: int  # paired cases
    clusters: int  # independent clusters (n when no case declares a cluster)
    base_mean: float
    candidate_mean: float
    difference: float
    stderr: float  # NaN with fewer than two clusters
    ci_low: float
    ci_high: float
    p_value: float  # two-sided, normal approximation; NaN when undefined


def paired_difference(
    base: Sequence[float],
    candidate: Sequence[float],
    clusters: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> PairedDifference:
    """Paired mean difference and interval; clustered SE when any case names a cluster."""
    if len(base) != len(candidate):
        raise ValueError(f"need as many base as candidate values ({len(base)} vs {len(candidate)})")
    if clusters is not None and len(clusters) != len(base):
        raise ValueError("need one cluster (or None) per pair")
    n = len(base)
    diffs = [float(c) - float(b) for b, c in zip(base, candidate, strict=True)]
    groups = _groups(clusters, n)
    if n == 0:
        nan = math.nan
        return PairedDifference(0, 0, nan, nan, nan, nan, nan, nan, nan)
    difference = math.fsum(diffs) / n
    stderr = clustered_stderr(diffs, groups)
    z = z_value(confidence)
    low, high = difference - z * stderr, difference + z * stderr
    return PairedDifference(
        n=n,
        clusters=len(set(groups)),
        base_mean=math.fsum(float(b) for b in base) / n,
        candidate_mean=math.fsum(float(c) for c in candidate) / n,
        difference=difference,
        stderr=stderr,
        ci_low=low,
        ci_high=high,
        p_value=_normal_p_value(difference, stderr),
    )


def _groups(clusters: Sequence[str | None] | None, n: int) -> list[str]:
    """One group key per value: its cluster, or a key of its own when it has none."""
    if clusters is None:
        return [f"\0{i}" for i in range(n)]
    return [f"c:{c}" if c is not None else f"\0{i}" for i, c in enumerate(clusters)]


def clustered_stderr(values: Sequence[float], groups: Sequence[str]) -> float:
    """Cluster-robust standard error of the mean, with the G/(G-1) small-sample factor.

    With every value in a group of its own this equals the ordinary standard error
    (sample sd / sqrt(n)), so one formula serves both cases; it matches statsmodels'
    OLS on a constant with ``cov_type="cluster"``.
    """
    n = len(values)
    if n != len(groups):
        raise ValueError("need one group per value")
    if n == 0:
        return math.nan
    mean = math.fsum(values) / n
    sums: dict[str, float] = {}
    for value, group in zip(values, groups, strict=True):
        sums[group] = sums.get(group, 0.0) + (value - mean)
    g = len(sums)
    if g < 2:
        return math.nan
    meat = math.fsum(total * total for total in sums.values())
    return math.sqrt(meat * g / (g - 1)) / n


def _normal_p_value(estimate: float, stderr: float) -> float:
    if math.isnan(stderr):
        return math.nan
    if stderr == 0.0:
        return 1.0 if estimate == 0.0 else 0.0
    return 2.0 * NormalDist().cdf(-abs(estimate) / stderr)


def mcnemar_exact(regressed: int, fixed: int) -> float:
    """McNemar's exact two-sided p-value from the discordant pairs (pass->fail, fail->pass)."""
    if regressed < 0 or fixed < 0:
        raise ValueError(f"counts must be >= 0, got {regressed} and {fixed}")
    n = regressed + fixed
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * _binomial_cdf_half(min(regressed, fixed), n))


def _binomial_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exact in integers until the final division."""
    tail: int = sum(math.comb(n, i) for i in range(k + 1))
    return tail / (1 << n)


def power(effect: float, sd: float, n: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z test on a mean of n paired differences with this sd."""
    if sd <= 0 or n <= 0:
        raise ValueError(f"need sd > 0 and n > 0, got sd={sd}, n={n}")
    z = z_value(1.0 - alpha)
    shift = abs(effect) * math.sqrt(n) / sd
    normal = NormalDist()
    # both tails count, as in statsmodels: a test that rejects in the wrong direction
    # still rejects
    return normal.cdf(shift - z) + normal.cdf(-shift - z)


def cases_needed(effect: float, sd: float, alpha: float = 0.05, target_power: float = 0.8) -> float:
    """Paired cases needed to detect a change of `effect` (fractional: round it up)."""
    if effect == 0:
        return math.inf
    if not 0.0 < target_power < 1.0:
        raise ValueError(f"power must be between 0 and 1, got {target_power}")
    normal = NormalDist()
    guess = ((z_value(1.0 - alpha) + normal.inv_cdf(target_power)) * sd / abs(effect)) ** 2
    # the closed form ignores the far tail; bisection makes it exact
    low, high = guess * 0.5, guess * 1.0 + 1e-9
    for _ in range(200):
        middle = (low + high) / 2
        if power(effect, sd, middle, alpha) < target_power:
            low = middle
        else:
            high = middle
    return high


def detectable_effect(n: int, sd: float, alpha: float = 0.05, target_power: float = 0.8) -> float:
    """The smallest change (in the metric's units) n paired cases detect at this power."""
    if n <= 0:
        return math.inf
    if sd <= 0:
        return 0.0
    low, high = 0.0, 1.0
    while power(high, sd, n, alpha) < target_power:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if power(middle, sd, n, alpha) < target_power:
            low = middle
        else:
            high = middle
    return high


def sample_sd(values: Iterable[float]) -> float:
    """Sample standard deviation (n - 1); NaN for fewer than two values."""
    data = [float(v) for v in values]
    if len(data) < 2:
        return math.nan
    mean = math.fsum(data) / len(data)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in data) / (len(data) - 1))
