"""evalkit.stats against published reference values and independent implementations."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.stats import mean_stderr, percentile, wilson_interval, z_value

# Newcombe R.G. (1998), "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Statistics in Medicine 17:857-872, Table I, method 3
# (Wilson score interval without continuity correction), 95%.
NEWCOMBE_1998 = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("successes", "n", "low", "high"), NEWCOMBE_1998)
def test_wilson_matches_newcombe_1998(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_all_successes_reaches_exactly_one() -> None:
    # by symmetry with Newcombe's 0/20 row: 20/20 is (1 - 0.1611, 1)
    low, high = wilson_interval(20, 20)
    assert low == pytest.approx(1 - 0.1611, abs=5e-5)
    assert high == 1.0
    assert wilson_interval(0, 20)[0] == 0.0


def test_wilson_with_no_trials_knows_nothing() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_other_confidence_levels() -> None:
    # closed form at zero successes: upper bound z² / (n + z²); z(0.99) = 2.5758293
    z = 2.5758293035489
    assert wilson_interval(0, 10, confidence=0.99)[1] == pytest.approx(z * z / (10 + z * z))
    # wider confidence, wider interval
    narrow = wilson_interval(30, 50, confidence=0.80)
    wide = wilson_interval(30, 50, confidence=0.99)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_rejects_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(successes, n)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_confidence_must_be_a_fraction(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=confidence)


def test_z_value_reference() -> None:
    # standard normal table: z(0.95) = 1.959964, z(0.90) = 1.644854
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.90) == pytest.approx(1.644854, abs=1e-6)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_wilson_contains_the_rate_and_stays_in_bounds(n: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=n))
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_mean_stderr_reference() -> None:
    # the classic 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7
    mean, stderr = mean_stderr([2, 4, 4, 4, 5, 5, 7, 9])
    assert mean == 5.0
    assert stderr == pytest.approx(math.sqrt(32 / 7) / math.sqrt(8))


def test_mean_stderr_edges() -> None:
    assert all(math.isnan(x) for x in mean_stderr([]))
    mean, stderr = mean_stderr([0.7])
    assert mean == 0.7 and math.isnan(stderr)
    assert mean_stderr([1.0, 1.0, 1.0]) == (1.0, 0.0)
    assert mean_stderr(iter([0.0, 1.0])) == (0.5, 0.5)  # any iterable, consumed once


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=50))
def test_mean_stderr_agrees_with_the_statistics_module(values: list[float]) -> None:
    mean, stderr = mean_stderr(values)
    assert mean == pytest.approx(statistics.fmean(values), abs=1e-6)
    assert stderr == pytest.approx(statistics.stdev(values) / math.sqrt(len(values)), abs=1e-6)


def test_percentile_reference() -> None:
    # numpy.percentile documentation example: [10, 7, 4, 3, 2, 1] -> median 3.5
    assert percentile([10, 7, 4, 3, 2, 1], 50) == 3.5
    # Hyndman & Fan (1996) type 7 on 1..10: q=25 -> 1 + 0.25 * 9 = 3.25
    assert percentile(range(1, 11), 25) == 3.25
    assert percentile([100, 200, 300, 400, 500], 95) == pytest.approx(480.0)
    assert percentile([5, 1, 3], 0) == 1.0 and percentile([5, 1, 3], 100) == 5.0


def test_percentile_edges() -> None:
    assert math.isnan(percentile([], 50))
    assert percentile([42.0], 90) == 42.0
    with pytest.raises(ValueError, match="q must be between 0 and 100"):
        percentile([1.0], 101)


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=50))
def test_percentile_agrees_with_statistics_quantiles(values: list[float]) -> None:
    # statistics.quantiles(method="inclusive") is type 7 too: cut points at 25/50/75
    expected = statistics.quantiles(values, n=4, method="inclusive")
    got = [percentile(values, q) for q in (25, 50, 75)]
    assert got == pytest.approx(expected, abs=1e-6)
