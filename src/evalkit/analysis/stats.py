"""Pure statistics for pass rates and scores: no I/O, plain floats.

Intervals on rates over cases (clustered where cases share a cluster, Student's t with
G - 1 degrees of freedom, so few clusters widen the interval instead of breaking its
promise), McNemar's exact test, power. The paired difference of two runs lives in
`evalkit.analysis.paired` (on arrays) and is re-exported here. Every function here is
pure and tested against scipy or statsmodels reference values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from evalkit.analysis.distributions import binom_half_cdf, binom_half_sf, t_value
from evalkit.analysis.paired import PairedDifference as PairedDifference
from evalkit.analysis.paired import paired_difference as paired_difference
from evalkit.analysis.randomization import sign_flip_test


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


def wilson_cc_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval with a continuity correction (Newcombe 1998, method 4).

    The run table's interval over independent 0/1 cases: plain Wilson's coverage
    oscillates below the nominal level with the count's discreteness (93.5% at 50 cases
    and a 50% rate), the corrected one stays above it at every n and rate evals have,
    for an interval about 1/n wider. It is scipy's ``proportion_ci(method="wilsoncc")``.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    z = z_value(confidence)
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 2.0 * (n + z2)
    low = high = 0.0
    if successes > 0:
        root = z * math.sqrt(z2 - 2.0 - 1.0 / n + 4.0 * p * (n * (1.0 - p) + 1.0))
        low = max(0.0, (2.0 * n * p + z2 - 1.0 - root) / denominator)
    if successes < n:
        root = z * math.sqrt(z2 + 2.0 - 1.0 / n + 4.0 * p * (n * (1.0 - p) - 1.0))
        high = min(1.0, (2.0 * n * p + z2 + 1.0 + root) / denominator)
    return low, (1.0 if successes == n else high)


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


def sign_flip_p(sums: Sequence[float]) -> tuple[float, float]:
    """Sign-flip permutation p-values (two-sided, lower) for a sum of differences.

    Under "no change" each cluster's summed difference is as likely negative as
    positive; flipping signs gives the null distribution of the total, with no variance
    to estimate (so a standard error of 0 never gives p = 0). Enumerated exactly for up
    to 16 non-zero sums, a seeded Monte Carlo of sign flips beyond (see
    `evalkit.analysis.randomization`).
    """
    p_two, p_drop, _ = sign_flip_test(sums)
    return p_two, p_drop


def min_attainable_p(nonzero: int) -> float:
    """The smallest two-sided p an exact test on this many non-zero pairs can give."""
    return min(1.0, 2.0 * 0.5**nonzero)


@dataclass(frozen=True, slots=True)
class CaseInterval:
    """A rate over cases (each case's mean over its epochs) with its interval and unit."""

    mean: float
    low: float
    high: float
    cases: int
    epochs: int  # the most epochs any case had
    clusters: int  # independent clusters (cases when none is declared)

    def label(self, confidence: float = 0.95) -> str:
        """'95% CI over 200 cases, 3 epochs each, 12 clusters': what the interval is."""
        return interval_label(confidence, self.cases, self.epochs, self.clusters)


def interval_label(confidence: float, cases: int, epochs: int, clusters: int) -> str:
    """What an interval is over, in words: the one wording every screen and page uses."""
    parts = [f"{confidence:.0%} CI over {cases} case{'s' if cases != 1 else ''}"]
    if epochs > 1:
        parts.append(f"{epochs} epochs each")
    if clusters != cases:
        parts.append(f"{clusters} cluster{'s' if clusters != 1 else ''}")
    return ", ".join(parts)


def case_rate_interval(
    case_means: Sequence[float],
    clusters: Sequence[str | None] | None = None,
    trials: int | None = None,
    epochs: int = 1,
    confidence: float = 0.95,
) -> CaseInterval:
    """Interval for a rate in [0, 1] from per-case means, clustered where cases share one.

    With one epoch and no clusters this is Wilson's interval with a continuity correction
    on the cases (`wilson_cc_interval`: plain Wilson's coverage dips to 93.2% on 50
    cases, this one holds 95%). Otherwise the cluster-robust standard error gives an
    effective sample size (the n at which a binomial would have this variance, never
    more than the trials), and Wilson's interval on it uses Student's t with G - 1
    degrees of freedom: it stays inside [0, 1], widens with few clusters and handles
    all-pass runs (Korn & Graubard's approach).
    """
    n = len(case_means)
    groups = _groups(clusters, n)
    g = len(set(groups))
    if n == 0:
        return CaseInterval(math.nan, 0.0, 1.0, 0, epochs, 0)
    mean = math.fsum(case_means) / n
    if epochs <= 1 and g == n and all(v in (0.0, 1.0) for v in case_means):
        low, high = wilson_cc_interval(round(mean * n), n, confidence)
        return CaseInterval(mean, low, high, n, epochs, g)
    if g < 2:
        return CaseInterval(mean, 0.0, 1.0, n, epochs, g)
    stderr = clustered_stderr(case_means, groups)
    most = float(trials) if trials else float(n * max(epochs, 1))
    spread = mean * (1.0 - mean)
    if spread <= 0.0 or stderr <= 0.0:
        effective = float(g)  # no observed spread: each cluster counts once, no more
    else:
        effective = min(most, spread / (stderr * stderr))
    low, high = _wilson(mean, effective, t_value(confidence, g - 1))
    return CaseInterval(mean, low, high, n, epochs, g)


def _wilson(p: float, n: float, critical: float) -> tuple[float, float]:
    """Wilson's interval for a rate p observed over a (possibly fractional) n."""
    c2 = critical * critical
    denominator = 1.0 + c2 / n
    center = (p + c2 / (2.0 * n)) / denominator
    half = (critical / denominator) * math.sqrt(p * (1.0 - p) / n + c2 / (4.0 * n * n))
    low = 0.0 if p <= 0.0 else max(0.0, center - half)
    high = 1.0 if p >= 1.0 else min(1.0, center + half)
    return low, high


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


def mcnemar_exact(regressed: int, fixed: int) -> float:
    """McNemar's exact two-sided p-value from the discordant pairs (pass->fail, fail->pass)."""
    if regressed < 0 or fixed < 0:
        raise ValueError(f"counts must be >= 0, got {regressed} and {fixed}")
    n = regressed + fixed
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_half_cdf(min(regressed, fixed), n))


def mcnemar_drop(regressed: int, fixed: int) -> float:
    """McNemar's exact one-sided p-value against "more cases regressed than were fixed"."""
    if regressed < 0 or fixed < 0:
        raise ValueError(f"counts must be >= 0, got {regressed} and {fixed}")
    return binom_half_sf(regressed, regressed + fixed)


def noise_regressions(discordant: int, alpha: float) -> int:
    """The most pass -> fail flips among `discordant` flips that noise explains at `alpha`.

    Under "no change" each flip is as likely one way as the other; a count above this
    has a one-sided exact (McNemar) p-value below alpha.
    """
    if discordant <= 0:
        return 0
    low, high = 0, discordant  # smallest k with P(X >= k + 1) <= alpha
    while low < high:
        middle = (low + high) // 2
        if binom_half_sf(middle + 1, discordant) <= alpha:
            high = middle
        else:
            low = middle + 1
    return low


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
