"""The sign-flip randomization test on per-case (or per-cluster) differences.

Under "no change" both runs draw each case (or cluster) from the same distribution, so
its difference (candidate - base) is as likely to be -d as +d: flipping the signs of
the differences gives the null distribution of their total with nothing estimated. A
p-value read off that distribution keeps its promise at every sample size, where the
t test's is only approximately right (it measured 5.2-5.8% at a nominal 5%).

- Up to EXHAUSTIVE non-zero differences every sign pattern is enumerated: the exact
  permutation p-value (scipy's ``permutation_test`` with ``n_resamples=inf``).
- Beyond that, FLIPS random sign patterns (fewer for very many differences, never
  fewer than MIN_FLIPS) and p = (1 + as extreme) / (1 + flips), which is exact in
  level: under "no change" P(p <= a) <= a for every a (Phipson & Smyth 2010). The
  random generator is seeded from the differences, so the same runs give the same p.
- Beyond MAX_RANDOMIZED non-zero differences the central limit theorem has taken over
  (the test would cost seconds): the caller uses the t test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

EXHAUSTIVE = 16  # 2**16 sign patterns, enumerated in about a millisecond
FLIPS = 9_999  # random sign patterns: p in steps of 1e-4
MIN_FLIPS = 1_999  # with very many differences: p in steps of 5e-4, enough for Holm
WORK = 20_000_000  # flips x differences per test, about 0.05 s
MAX_RANDOMIZED = WORK // MIN_FLIPS  # 10,004 non-zero differences
_CHUNK = 500_000  # look-ups held in memory at once
# bit i of every byte value, as 0/1: row b is which of eight differences byte b keeps
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64)


def flips_for(nonzero: int) -> int:
    """Random sign patterns drawn for this many non-zero differences (0: enumerated)."""
    if nonzero <= EXHAUSTIVE:
        return 0
    return int(min(FLIPS, max(MIN_FLIPS, WORK // nonzero)))


def randomized(nonzero: int) -> bool:
    """Whether the sign-flip test (enumerated or random) decides for this many."""
    return nonzero <= MAX_RANDOMIZED


def sign_flip_test(sums: Sequence[float] | Any) -> tuple[float, float, int]:
    """(two-sided p, one-sided p against a drop, random flips drawn; 0 = enumerated).

    `sums` are the per-case or per-cluster differences (a sequence or an array); zeros
    are left out (they are the same under every flip). The statistic is their total.
    """
    values = np.asarray(sums, dtype=np.float64)
    values = values[values != 0.0]
    k = int(values.size)
    if k == 0:
        return 1.0, 1.0, 0
    total = float(values.sum())
    if bool(np.all(values > 0)) or bool(np.all(values < 0)):
        # only the two all-one-sign patterns are as extreme: exact for any k
        return min(1.0, 2.0 * 0.5**k), (0.5**k if total < 0 else 1.0), 0
    magnitudes = np.abs(values)
    whole = float(magnitudes.sum())
    # differences are sums of a few case means: compare totals with a tolerance so that
    # ties (which make the test conservative, not liberal) are counted as ties
    tolerance = 1e-9 * max(whole, 1.0)
    if k <= EXHAUSTIVE:
        # the total under a sign pattern is 2 x (sum of the magnitudes kept positive)
        # - whole; the subset sums of k magnitudes, built by doubling, are all 2**k
        subsets = np.zeros(1, dtype=np.float64)
        for m in magnitudes:
            subsets = np.concatenate((subsets, subsets + m))
        flipped = 2.0 * subsets - whole
        two = float(np.count_nonzero(np.abs(flipped) >= abs(total) - tolerance))
        low = float(np.count_nonzero(flipped <= total + tolerance))
        return two / flipped.size, low / flipped.size, 0
    flips = flips_for(k)
    rng = np.random.default_rng(_seed(values))
    # eight differences per random byte: the 256 totals each byte can add are tabled
    # once, so a sign pattern costs k / 8 look-ups instead of k multiplications
    columns = (k + 7) // 8
    padded = np.zeros(columns * 8, dtype=np.float64)
    padded[:k] = magnitudes
    tables = (_BYTE_BITS @ padded.reshape(columns, 8).T).T.ravel()
    offsets = np.arange(columns, dtype=np.int32) * 256
    rows = max(1, _CHUNK // columns)
    two_count = low_count = 0
    done = 0
    while done < flips:
        take = min(rows, flips - done)
        index = rng.integers(0, 256, size=(take, columns), dtype=np.uint8).astype(np.int32)
        index += offsets
        flipped = 2.0 * np.take(tables, index).sum(axis=1) - whole
        two_count += int(np.count_nonzero(np.abs(flipped) >= abs(total) - tolerance))
        low_count += int(np.count_nonzero(flipped <= total + tolerance))
        done += take
    return (1.0 + two_count) / (1.0 + flips), (1.0 + low_count) / (1.0 + flips), flips


def _seed(values: np.ndarray) -> int:
    """A seed from the differences themselves: reproducible, and new for new data."""
    digest = hashlib.blake2b(np.round(values, 9).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
