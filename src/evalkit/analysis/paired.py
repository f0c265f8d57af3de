"""Pure: the paired difference of two runs' per-case values, on numpy arrays.

Paired comparisons follow Miller (2024), "Adding Error Bars to Evals": an interval on
the mean of per-case differences, with a cluster-robust standard error when cases are
not independent. The case (or its cluster) is the unit: with G clusters the critical
value is Student's t with G - 1 degrees of freedom, and the p-value is the sign-flip
randomization test on the clusters' summed differences (`randomization`), or the t
test past MAX_RANDOMIZED differing clusters.

Arrays in, so that comparing two runs of 100,000 trials (dozens of tests of 10,000
cases each) costs milliseconds of statistics rather than seconds of Python loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.analysis.distributions import t_sf, t_value
from evalkit.analysis.randomization import randomized, sign_flip_test

Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int64]
NO_CLUSTER = -1  # the cluster code of a case that shares no cluster: its own unit


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """The mean of per-case differences (candidate - base), its t interval and p-values."""

    n: int  # paired cases
    clusters: int  # independent clusters (n when no case declares a cluster)
    base_mean: float
    candidate_mean: float
    difference: float
    stderr: float  # cluster-robust; NaN with fewer than two clusters
    ci_low: float  # t interval with clusters - 1 degrees of freedom
    ci_high: float
    p_value: float  # two-sided; NaN when undefined
    p_drop: float = math.nan  # one-sided, against "the candidate is lower"
    nonzero: int = 0  # clusters whose differences do not sum to zero
    exact: bool = False  # p-values from the sign-flip randomization test (exact in level)
    flips: int = 0  # random sign patterns behind them; 0 when every one was enumerated

    @property
    def df(self) -> int:
        """Degrees of freedom of the interval's t critical value."""
        return max(self.clusters - 1, 0)

    @property
    def test(self) -> str:
        """The test behind the p-value, in words."""
        if not self.exact:
            return f"paired t ({self.df} df)"
        return f"sign-flip ({self.flips:,} random flips)" if self.flips else "sign-flip exact"


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
    return paired_arrays(
        np.asarray(base, dtype=np.float64),
        np.asarray(candidate, dtype=np.float64),
        None if clusters is None else cluster_codes(clusters),
        confidence,
    )


def cluster_codes(clusters: Sequence[str | None]) -> Codes:
    """One integer per case naming its cluster (equal names, equal codes); NO_CLUSTER for none."""
    seen: dict[str, int] = {}
    return np.fromiter(
        (NO_CLUSTER if c is None else seen.setdefault(c, len(seen)) for c in clusters),
        dtype=np.int64,
        count=len(clusters),
    )


def paired_arrays(
    base: Floats, candidate: Floats, clusters: Codes | None = None, confidence: float = 0.95
) -> PairedDifference:
    """`paired_difference` on arrays; `clusters` are codes (`cluster_codes`) or None."""
    n = int(base.size)
    if n == 0:
        nan = math.nan
        return PairedDifference(0, 0, nan, nan, nan, nan, nan, nan, nan)
    diffs = candidate - base
    difference = math.fsum(diffs.tolist()) / n
    sums: Floats
    if clusters is None or not bool(np.any(clusters != NO_CLUSTER)):
        # every case its own cluster: the same numbers, without building n group keys
        sums = diffs
        stderr = _plain_stderr(diffs, difference)
    else:
        units = _units(clusters)
        sums = np.bincount(units, weights=diffs).astype(np.float64)
        stderr = _clustered_stderr(diffs, units, difference)
    g = int(sums.size)
    nonzero = sums[np.abs(sums) > 1e-12]
    bounded = min(base.min(), candidate.min()) >= 0.0 and max(base.max(), candidate.max()) <= 1.0
    usable = g >= 2 and not math.isnan(stderr)
    half = t_value(confidence, g - 1) * stderr if usable else math.nan
    exact = randomized(int(nonzero.size)) or stderr == 0.0
    flips = 0
    if exact:
        p_two, p_drop, flips = sign_flip_test(nonzero)
    else:
        p_two, p_drop = _t_p_values(difference, stderr, g - 1)
    return PairedDifference(
        n=n,
        clusters=g,
        base_mean=math.fsum(base.tolist()) / n,
        candidate_mean=math.fsum(candidate.tolist()) / n,
        difference=difference,
        stderr=stderr,
        # scores and rates live in [0, 1]: their difference never leaves [-1, 1]
        ci_low=max(difference - half, -1.0) if bounded else difference - half,
        ci_high=min(difference + half, 1.0) if bounded else difference + half,
        p_value=p_two if g >= 2 else math.nan,
        p_drop=p_drop if g >= 2 else math.nan,
        nonzero=int(nonzero.size),
        exact=exact,
        flips=flips,
    )


def _units(clusters: Codes) -> npt.NDArray[np.intp]:
    """0..G-1 per case: its cluster's rank by first appearance, a unit of its own if none.

    First appearance, so that the clusters' sums come in the order of the cases: the
    sign-flip test seeds its generator from them, and the same cases must give the same p
    whichever way their cluster codes were numbered."""
    n = clusters.size
    # a case with no cluster gets a key no cluster code has: past the largest one
    keys = np.where(clusters == NO_CLUSTER, int(clusters.max()) + 1 + np.arange(n), clusters)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]


def _plain_stderr(values: Floats, mean: float) -> float:
    """The clustered standard error with every value a cluster of its own: sd / sqrt(n)."""
    n = int(values.size)
    if n < 2:
        return math.nan
    deviations = values - mean
    return math.sqrt(float(np.dot(deviations, deviations)) / (n - 1) / n)


def _clustered_stderr(values: Floats, units: npt.NDArray[np.intp], mean: float) -> float:
    """Cluster-robust standard error of the mean with the G/(G-1) small-sample factor
    (`stats.clustered_stderr` on arrays)."""
    totals: Any = np.bincount(units, weights=values - mean)
    g = int(totals.size)
    if g < 2:
        return math.nan
    meat = float(np.dot(totals, totals))
    return math.sqrt(meat * g / (g - 1)) / int(values.size)


def _t_p_values(estimate: float, stderr: float, df: int) -> tuple[float, float]:
    """Two-sided and lower one-sided p-values of a t statistic."""
    t = estimate / stderr
    return min(1.0, 2.0 * t_sf(abs(t), df)), 1.0 - t_sf(t, df)
