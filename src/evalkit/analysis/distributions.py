"""Tail probabilities and critical values evalkit's tests need, in plain Python.

Student's t (for clustered and small-sample intervals) and the Binomial(n, 1/2) tails
(for McNemar's and the sign test) are computed here rather than with scipy, so the
statistics work without a numerical stack installed; the tests check every function
against scipy to ~1e-10. Binomial tails are summed in log space, term by term from
the far end inward, so 100,000 discordant pairs take microseconds, not minutes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

_EPS = 1e-15
_TINY = 1e-300


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < _EPS:
            break
    return result


def beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - _log_beta(a, b))
    # the fraction converges fast only on one side of the mean; use symmetry on the other
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom (normal when df is inf)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isinf(df):
        return 1.0 - NormalDist().cdf(t) if t < 0 else NormalDist().cdf(-t)
    tail = 0.5 * beta_regularized(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


@lru_cache(maxsize=1024)  # a comparison asks for the same few (confidence, df) many times
def t_value(confidence: float, df: float) -> float:
    """The two-sided critical value of Student's t, e.g. 2.776 for 0.95 at 4 df."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    return t_quantile(1.0 - (1.0 - confidence) / 2.0, df)


def t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t (bisection on t_sf: exact to ~1e-12)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be between 0 and 1 (exclusive), got {q}")
    z = NormalDist().inv_cdf(q)
    if math.isinf(df):
        return z
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    tail = 1.0 - q
    low, high = 0.0, max(1.0, abs(z))
    while t_sf(high, df) > tail:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_sf(middle, df) > tail:
            low = middle
        else:
            high = middle
        if high - low < 1e-13 * max(1.0, high):
            break
    return (low + high) / 2.0


def _log_half_binom(i: int, n: int) -> float:
    """log P(X = i) for X ~ Binomial(n, 1/2)."""
    return math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2.0)


def binom_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), summed in log space from k downwards."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if 2 * k > n:  # the sum would cross the mode: use the other tail
        return 1.0 - binom_half_cdf(n - k - 1, n)
    # below the mode the terms shrink as i falls, so the sum stops once they vanish
    log_term = _log_half_binom(k, n)
    total = 0.0
    term = 1.0  # relative to exp(log_term)
    i = k
    while i >= 0:
        total += term
        if term < _EPS * total:
            break
        term *= i / (n - i + 1)
        i -= 1
    return min(1.0, math.exp(log_term + math.log(total)))


def binom_half_sf(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2)."""
    return binom_half_cdf(n - k, n)  # by symmetry: X >= k  <=>  n - X <= n - k
