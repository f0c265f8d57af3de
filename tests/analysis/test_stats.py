"""evalkit.analysis.stats against published reference values and independent implementations."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.analysis.stats import mean_stderr, percentile, wilson_interval, z_value

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


# --- paired comparison, McNemar and power, against scipy / statsmodels ---------------

np = pytest.importorskip("numpy")
scipy_stats = pytest.importorskip("scipy.stats")
sm = pytest.importorskip("statsmodels.api")
from statsmodels.stats.contingency_tables import mcnemar  # noqa: E402
from statsmodels.stats.power import NormalIndPower  # noqa: E402
from statsmodels.stats.weightstats import DescrStatsW  # noqa: E402

from evalkit.analysis.distributions import (  # noqa: E402
    binom_half_cdf,
    binom_half_sf,
    t_sf,
    t_value,
)
from evalkit.analysis.randomization import MAX_RANDOMIZED  # noqa: E402
from evalkit.analysis.stats import (  # noqa: E402
    case_rate_interval,
    cases_needed,
    clustered_stderr,
    detectable_effect,
    mcnemar_drop,
    mcnemar_exact,
    min_attainable_p,
    noise_regressions,
    paired_difference,
    power,
    sign_flip_p,
    wilson_cc_interval,
)

BASE = [1, 1, 0, 1, 0.5, 1, 1, 0, 1, 1, 0.25, 1]
CANDIDATE = [1, 0, 0, 1, 0.75, 0, 1, 1, 0, 1, 0.25, 0]


def test_paired_interval_matches_scipy_and_statsmodels() -> None:
    got = paired_difference(BASE, CANDIDATE)
    diffs = [c - b for b, c in zip(BASE, CANDIDATE, strict=True)]
    t = scipy_stats.ttest_rel(CANDIDATE, BASE)
    assert got.difference == pytest.approx(sum(diffs) / len(diffs))
    # the paired t statistic is the mean difference over exactly this standard error
    assert got.stderr == pytest.approx(got.difference / t.statistic)
    # a t interval with n - 1 degrees of freedom, not a z interval
    low, high = DescrStatsW(diffs).tconfint_mean(alpha=0.05)
    assert (got.ci_low, got.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert got.df == len(BASE) - 1
    # 6 non-zero differences: the p-value is the exact sign-flip permutation test
    exact = scipy_stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=math.inf
    )
    assert got.exact and got.p_value == pytest.approx(exact.pvalue, abs=1e-12)
    lower = scipy_stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=math.inf, alternative="less"
    )
    assert got.p_drop == pytest.approx(lower.pvalue, abs=1e-12)
    assert got.base_mean == pytest.approx(sum(BASE) / len(BASE))


def test_many_non_zero_differences_use_random_sign_flips_seeded_by_the_data() -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 1, 60)
    cand = base + rng.normal(-0.05, 0.2, 60)
    got = paired_difference(list(base), list(cand))
    assert got.exact and got.flips == 9_999 and got.test == "sign-flip (9,999 random flips)"
    diffs = cand - base
    for alternative, value in (("two-sided", got.p_value), ("less", got.p_drop)):
        ref = scipy_stats.permutation_test(
            (diffs,), np.mean, permutation_type="samples", n_resamples=9_999,
            alternative=alternative, random_state=1,
        )  # fmt: skip
        # two Monte Carlo estimates of one p-value, each with an sd of at most 0.005
        assert value == pytest.approx(ref.pvalue, abs=0.02)
        assert value >= 1 / 10_000  # (1 + as extreme) / (1 + flips): never 0
    # the generator is seeded from the differences: the same runs give the same p
    assert paired_difference(list(base), list(cand)) == got


def test_sign_flip_test_keeps_its_level_where_the_t_test_does_not() -> None:
    # 13 non-zero case differences of 3-epoch case means: under "no change" every sign
    # pattern of these magnitudes is equally likely, so the share of the 2**13 patterns
    # the test calls a drop at 5% is its exact false-alarm rate
    magnitudes = np.array([1 / 3, 2 / 3, 1.0] * 4 + [1 / 3])
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=magnitudes.size)))
    diffs = signs * magnitudes
    ours = np.mean([paired_difference([1.0] * 13, list(1.0 + d)).p_drop <= 0.05 for d in diffs])
    t_test = np.mean(scipy_stats.ttest_1samp(diffs, 0.0, axis=1, alternative="less").pvalue <= 0.05)
    assert ours <= 0.05
    assert t_test > 0.05  # 5.6%: the t test's promise does not hold here


def test_beyond_ten_thousand_differing_clusters_the_t_test_decides() -> None:
    rng = np.random.default_rng(5)
    base = rng.uniform(0, 1, MAX_RANDOMIZED + 1)
    cand = base + rng.normal(-0.01, 0.2, base.size)
    got = paired_difference(list(base), list(cand))
    assert not got.exact and got.test == f"paired t ({base.size - 1} df)"
    t = scipy_stats.ttest_rel(cand, base)
    assert got.p_value == pytest.approx(t.pvalue, rel=1e-9)
    less = scipy_stats.ttest_rel(cand, base, alternative="less")
    assert got.p_drop == pytest.approx(less.pvalue, rel=1e-9)


def test_a_standard_error_of_zero_never_gives_p_zero() -> None:
    # two cases that both regress: SE 0, interval [-1, -1], but only 2 sign flips
    got = paired_difference([1.0, 1.0], [0.0, 0.0])
    assert got.stderr == 0.0
    assert got.p_value == 0.5 and got.p_drop == 0.25
    assert min_attainable_p(got.nonzero) == 0.5
    same = paired_difference([1.0] * 40, [0.5] * 40)  # every case drops exactly 0.5
    assert same.p_value == pytest.approx(2 * 0.5**40) and same.p_value > 0


@pytest.mark.parametrize("k", [8, 16])
def test_sign_flip_p_matches_scipy_permutation_test(k: int) -> None:
    sums = [-0.5, -1.0, 0.25, -2.0, 1.0, -0.75, -0.25, -1.5, 0.5, 1.25, -1 / 3, 2 / 3,
            -0.125, 1.5, -0.625, 0.375][:k]  # fmt: skip
    got = sign_flip_p(sums)
    for alternative, value in (("two-sided", got[0]), ("less", got[1])):
        ref = scipy_stats.permutation_test(
            (sums,), np.sum, permutation_type="samples", n_resamples=math.inf,
            alternative=alternative,
        )  # fmt: skip
        assert value == pytest.approx(ref.pvalue, abs=1e-12)


def test_clustered_stderr_matches_statsmodels_cluster_robust_ols() -> None:
    diffs = [c - b for b, c in zip(BASE, CANDIDATE, strict=True)]
    groups = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "d", "e", "e"]
    fit = sm.OLS(diffs, [[1.0]] * len(diffs)).fit(
        cov_type="cluster", cov_kwds={"groups": [ord(g) for g in groups]}
    )
    assert clustered_stderr(diffs, groups) == pytest.approx(float(fit.bse[0]))
    got = paired_difference(BASE, CANDIDATE, clusters=groups)
    assert got.stderr == pytest.approx(float(fit.bse[0]))
    assert got.clusters == 5
    # t critical values with G - 1 = 4 degrees of freedom, as statsmodels' use_t does
    fit_t = sm.OLS(diffs, [[1.0]] * len(diffs)).fit(
        cov_type="cluster", cov_kwds={"groups": [ord(g) for g in groups]}, use_t=True
    )
    low, high = fit_t.conf_int(alpha=0.05)[0]
    assert (got.ci_low, got.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert got.df == 4


def test_cases_without_a_cluster_are_their_own_cluster() -> None:
    plain = paired_difference(BASE, CANDIDATE)
    none_clustered = paired_difference(BASE, CANDIDATE, clusters=[None] * len(BASE))
    assert none_clustered.stderr == pytest.approx(plain.stderr)
    # correlated cases in one cluster widen the interval
    diffs = [-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    base = [1.0] * 8
    cand = [b + d for b, d in zip(base, diffs, strict=True)]
    clustered = paired_difference(
        base, cand, clusters=["x", "x", "x", None, None, None, None, None]
    )
    assert clustered.stderr > paired_difference(base, cand).stderr


@pytest.mark.parametrize(
    ("regressed", "fixed"), [(0, 0), (3, 0), (5, 1), (1, 5), (7, 7), (12, 3), (40, 25)]
)
def test_mcnemar_exact_matches_statsmodels(regressed: int, fixed: int) -> None:
    table = [[20, regressed], [fixed, 9]]  # rows: base pass/fail; columns: candidate
    expected = mcnemar(table, exact=True).pvalue
    assert mcnemar_exact(regressed, fixed) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("effect", "sd"), [(0.05, 0.4), (0.1, 0.5), (0.2, 0.3), (0.02, 0.25)])
def test_power_and_sample_size_match_statsmodels(effect: float, sd: float) -> None:
    solver = NormalIndPower()
    n = solver.solve_power(effect_size=effect / sd, alpha=0.05, power=0.8, ratio=0.0)
    assert cases_needed(effect, sd, alpha=0.05, target_power=0.8) == pytest.approx(n, rel=1e-6)
    at_100 = solver.power(effect_size=effect / sd, nobs1=100, alpha=0.05, ratio=0.0)
    assert power(effect, sd, 100) == pytest.approx(at_100, rel=1e-9)
    es = solver.solve_power(effect_size=None, nobs1=100, alpha=0.05, power=0.8, ratio=0.0)
    # statsmodels' root finder stops at ~1e-5 relative; ours is bisected to the float
    assert detectable_effect(100, sd) == pytest.approx(es * sd, rel=1e-4)
    assert power(detectable_effect(100, sd), sd, 100) == pytest.approx(0.8, abs=1e-9)


def test_degenerate_inputs_say_undefined_rather_than_guess() -> None:
    assert math.isnan(paired_difference([1.0], [0.0]).stderr)
    assert paired_difference([], []).n == 0
    assert detectable_effect(0, 0.5) == math.inf
    assert cases_needed(0.0, 0.5) == math.inf
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])


@pytest.mark.parametrize("df", [1, 2, 4, 11, 199, 10_000])
def test_t_distribution_matches_scipy(df: int) -> None:
    for t in (-4.0, -1.3, 0.0, 0.4, 2.1, 12.0):
        assert t_sf(t, df) == pytest.approx(scipy_stats.t.sf(t, df), abs=1e-9, rel=1e-8)
    for confidence in (0.8, 0.95, 0.99):
        expected = scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)
        assert t_value(confidence, df) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n", [1, 7, 50, 4_000, 40_500, 200_000])
def test_binomial_tails_in_log_space_match_scipy(n: int) -> None:
    for k in {0, 1, n // 3, n // 2, n // 2 + 1, n - 1, n}:
        assert binom_half_cdf(k, n) == pytest.approx(
            scipy_stats.binom.cdf(k, n, 0.5), rel=1e-9, abs=1e-300
        )
        assert binom_half_sf(k, n) == pytest.approx(
            scipy_stats.binom.sf(k - 1, n, 0.5), rel=1e-9, abs=1e-300
        )


@pytest.mark.parametrize(
    ("regressed", "fixed"), [(0, 0), (5, 1), (1, 5), (30, 12), (20_300, 20_200)]
)
def test_one_sided_mcnemar_and_what_noise_explains(regressed: int, fixed: int) -> None:
    n = regressed + fixed
    expected = scipy_stats.binomtest(regressed, n, alternative="greater").pvalue if n else 1.0
    assert mcnemar_drop(regressed, fixed) == pytest.approx(expected, rel=1e-9)
    explained = noise_regressions(n, 0.05)
    # the largest count noise explains at 5%: one more would be significant, it is not
    if n:
        assert binom_half_sf(explained + 1, n) <= 0.05 < binom_half_sf(explained, n)


def test_case_rate_interval_is_wilson_on_cases_and_widens_with_epochs_and_clusters() -> None:
    plain = case_rate_interval([1.0] * 150 + [0.0] * 50)
    assert (plain.low, plain.high) == wilson_cc_interval(150, 200)
    assert plain.label() == "95% CI over 200 cases"
    means = [1.0, 2 / 3, 1 / 3, 1.0, 0.0, 2 / 3] * 20
    epochs = case_rate_interval(means, epochs=3)
    clusters = case_rate_interval(means, [f"doc{i % 5}" for i in range(120)], epochs=3)
    assert epochs.label() == "95% CI over 120 cases, 3 epochs each"
    assert clusters.label() == "95% CI over 120 cases, 3 epochs each, 5 clusters"
    for got in (epochs, clusters):
        assert got.low < got.mean < got.high
    # the same 120 case means as if independent trials (Wilson on 360) is narrower
    naive = wilson_interval(round(sum(means) * 3), 360)
    assert naive[1] - naive[0] < epochs.high - epochs.low
    everything = case_rate_interval([1.0] * 30, epochs=3)
    assert everything.high == 1.0 and everything.low < 1.0


WILSON_CC_CASES = [(81, 263), (15, 148), (0, 20), (1, 29), (25, 50), (50, 50), (49, 50), (3, 7),
                   (0, 1), (1, 1)]  # fmt: skip


@pytest.mark.parametrize(("successes", "n"), WILSON_CC_CASES)
def test_wilson_cc_interval_matches_scipy(successes: int, n: int) -> None:
    ci = scipy_stats.binomtest(successes, n).proportion_ci(method="wilsoncc")
    got = wilson_cc_interval(successes, n)
    assert got == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))


@pytest.mark.parametrize("n", [50, 200])
def test_the_run_tables_interval_on_independent_cases_covers_at_least_95_percent(n: int) -> None:
    # exact coverage: the binomial probability of every count whose interval holds the
    # true rate, over a grid of true rates (plain Wilson: 93.2% at worst on 50 cases)
    intervals = [case_rate_interval([1.0] * k + [0.0] * (n - k)) for k in range(n + 1)]
    low = np.array([i.low for i in intervals])
    high = np.array([i.high for i in intervals])

    def coverage(rate: float) -> float:
        probabilities = scipy_stats.binom.pmf(np.arange(n + 1), n, rate)
        return float(np.sum(probabilities[(low <= rate) & (rate <= high)]))

    worst = min(coverage(rate) for rate in np.linspace(0.05, 0.95, 91))
    assert worst >= 0.95
