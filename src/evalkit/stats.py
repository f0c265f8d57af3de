"""Pure statistics for pass rates and scores: no I/O, no numpy/scipy, plain floats.

Later additions (paired tests, power) belong here too; keep every function pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
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
