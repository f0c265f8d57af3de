"""evalkit.analysis.calibration's statistics against statsmodels and scikit-learn, on many
random 2x2 tables and on the degenerate ones a small label set produces."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from evalkit.analysis.calibration import Confusion, agreement, check, cohen_kappa, confusion
from evalkit.analysis.stats import wilson_interval

# statsmodels takes the square root of a variance rounding left at -1e-17 (and warns)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _tables(seed: int, count: int) -> list[Confusion]:
    rng = random.Random(seed)
    tables = []
    for _ in range(count):
        top = rng.choice([3, 10, 40, 200, 2000])
        tables.append(Confusion(*(rng.randint(0, top) for _ in range(4))))
    # edge tables: one empty cell, one empty row, one empty column, perfect and zero agreement
    tables += [
        Confusion(10, 0, 3, 7),
        Confusion(0, 0, 5, 9),
        Confusion(4, 0, 6, 0),
        Confusion(25, 0, 0, 25),
        Confusion(0, 12, 9, 0),
        Confusion(1, 0, 0, 1),
        Confusion(30, 1, 0, 0),
    ]
    return tables


def _pairs(table: Confusion) -> tuple[list[int], list[int]]:
    judge: list[int] = []
    human: list[int] = []
    for (j, h), count in {
        (1, 1): table.both_pass,
        (1, 0): table.missed,
        (0, 1): table.false_alarm,
        (0, 0): table.both_fail,
    }.items():
        judge += [j] * count
        human += [h] * count
    return judge, human


@pytest.mark.parametrize("table", _tables(seed=20261127, count=300))
def test_kappa_se_and_interval_match_statsmodels(table: Confusion) -> None:
    ours = cohen_kappa(table)
    if table.n == 0 or ours.value is None:
        return  # covered by the degenerate-table tests below
    reference = cohens_kappa(np.array(table.table(), dtype=float))
    assert ours.value == pytest.approx(reference.kappa, abs=1e-12)
    cells = table.table()
    sums = [sum(cells[0]), sum(cells[1]), cells[0][0] + cells[1][0], cells[0][1] + cells[1][1]]
    if 0 in sums:
        # a constant rater: the variance is exactly 0 (statsmodels' rounding leaves NaN
        # or ~1e-17), so we give no interval rather than one that claims certainty
        assert ours.value == 0.0 and ours.se is None
        assert math.isnan(reference.std_kappa) or reference.std_kappa < 1e-6
        return
    if math.isnan(reference.std_kappa) or ours.se == 0.0:  # kappa 1 or -1: variance 0
        assert abs(ours.value) == pytest.approx(1.0) and ours.se == 0.0 and ours.low is None
        assert math.isnan(reference.std_kappa) or reference.std_kappa < 1e-6
        return
    assert ours.se is not None
    assert ours.se == pytest.approx(reference.std_kappa, abs=1e-9)
    assert ours.low == pytest.approx(max(-1.0, reference.kappa_low), abs=1e-9)
    assert ours.high == pytest.approx(min(1.0, reference.kappa_upp), abs=1e-9)


@pytest.mark.parametrize("table", _tables(seed=7, count=100))
def test_kappa_matches_scikit_learn(table: Confusion) -> None:
    ours = cohen_kappa(table)
    judge, human = _pairs(table)
    if ours.value is None:
        return
    assert ours.value == pytest.approx(cohen_kappa_score(judge, human), abs=1e-12)


def test_kappa_is_undefined_when_both_raters_use_one_class() -> None:
    # sklearn says NaN here; a naive kappa would print 1.0 for 40 agreeing passes
    result = cohen_kappa(Confusion(both_pass=40))
    assert result.value is None and result.se is None and result.low is None
    assert result.reason is not None and "one verdict" in result.reason
    judge, human = _pairs(Confusion(both_pass=40))
    with pytest.warns(UserWarning):  # sklearn warns, then answers NaN
        assert math.isnan(cohen_kappa_score(judge, human))
    assert agreement([(True, True)] * 40).agreement.value == 1.0  # raw agreement still says 100%


def test_kappa_with_no_pairs_says_so() -> None:
    result = cohen_kappa(Confusion())
    assert result.value is None and result.reason == "no labelled pairs"


def test_one_rater_constant_gives_kappa_zero_not_an_error() -> None:
    # the judge passes everything; humans failed 3 of 33: agreement 91% but kappa 0
    result = agreement([(True, True)] * 30 + [(True, False)] * 3)
    assert result.agreement.value == pytest.approx(30 / 33)
    assert result.kappa.value == pytest.approx(0.0, abs=1e-12)
    assert result.fail_recall.value == 0.0  # the judge caught none of the 3 failures
    assert result.fail_precision.value is None
    assert result.fail_precision.reason == "the judge failed nothing"
    assert (
        result.kappa.se is None
        and result.kappa.reason == "the judge gave only one verdict: no interval"
    )


def test_small_samples_are_flagged_and_perfect_agreement_has_no_fake_certainty() -> None:
    small = cohen_kappa(Confusion(3, 1, 0, 4))
    assert small.value is not None and small.reason is not None and "only 8 pairs" in small.reason
    perfect = cohen_kappa(Confusion(20, 0, 0, 20))
    assert perfect.value == pytest.approx(1.0)
    assert perfect.se == 0.0 and perfect.low is None and perfect.high is None
    assert perfect.reason == "large-sample variance 0: no interval"


def test_confusion_precision_recall_and_wilson_agreement() -> None:
    pairs = [(True, True)] * 50 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 35
    table = confusion(pairs)
    assert table == Confusion(both_pass=50, missed=5, false_alarm=10, both_fail=35)
    result = agreement(pairs)
    assert result.fail_recall.value == pytest.approx(35 / 40)
    assert result.fail_precision.value == pytest.approx(35 / 45)
    assert (result.agreement.low, result.agreement.high) == wilson_interval(85, 100)
    assert result.to_json()["confusion"]["missed"] == 5


@pytest.mark.parametrize(
    ("table", "min_kappa", "min_labels", "status"),
    [
        (Confusion(), 0.6, 20, "no_labels"),
        (Confusion(5, 0, 0, 5), 0.6, 20, "too_few"),
        (Confusion(40), 0.6, 20, "undefined"),
        (Confusion(15, 5, 5, 15), 0.6, 20, "below"),
        (Confusion(19, 1, 1, 19), 0.6, 20, "ok"),
        (Confusion(15, 5, 5, 15), None, 20, "ok"),
    ],
)
def test_check_against_a_minimum(
    table: Confusion, min_kappa: float | None, min_labels: int, status: str
) -> None:
    result = agreement(_as_pairs(table))
    assert check(result, min_kappa, min_labels) == status


def _as_pairs(table: Confusion) -> list[tuple[bool, bool]]:
    judge, human = _pairs(table)
    return [(bool(j), bool(h)) for j, h in zip(judge, human, strict=True)]
