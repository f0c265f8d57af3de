"""Pure statistics of judge calibration: how well a model judge agrees with humans.

A *pair* is one model-graded grade and the human verdict on it (pass/fail each). Over
a set of pairs we report raw agreement (with a Wilson interval), Cohen's kappa with
its large-sample standard error and 95% interval, the 2x2 confusion matrix, and the
judge's precision and recall for `fail` (what a team acts on).

Kappa's standard error is the asymptotic (large-sample) variance of Fleiss, Cohen &
Everitt (1969), the one statsmodels' `cohens_kappa` reports as `std_kappa`. It assumes
the pairs are independent draws (no clustering of epochs or repeated cases) and n
large enough for the normal approximation: with few pairs, or kappa near 1, the
interval is too narrow. Degenerate tables get None with a reason, never a made-up 1.0.
No I/O here: the store reads pairs (store/calibration_rows.py), the CLI prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from evalkit.analysis.stats import wilson_interval, z_value

# Below this many pairs the normal approximation behind kappa's interval is rough.
SMALL_N = 30


@dataclass(frozen=True, slots=True)
class Confusion:
    """Judge verdict x human verdict counts."""

    both_pass: int = 0  # judge pass, human pass
    missed: int = 0  # judge pass, human fail: a real failure the judge let through
    false_alarm: int = 0  # judge fail, human pass
    both_fail: int = 0  # judge fail, human fail: a real failure caught

    @property
    def n(self) -> int:
        """Pairs counted."""
        return self.both_pass + self.missed + self.false_alarm + self.both_fail

    @property
    def agree(self) -> int:
        """Pairs where judge and human said the same."""
        return self.both_pass + self.both_fail

    def table(self) -> list[list[int]]:
        """[[judge pass: human pass, human fail], [judge fail: human pass, human fail]]."""
        return [[self.both_pass, self.missed], [self.false_alarm, self.both_fail]]


def confusion(pairs: Iterable[tuple[bool, bool]]) -> Confusion:
    """Count (judge_passed, human_passed) pairs into a Confusion."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for judge, human in pairs:
        counts[(bool(judge), bool(human))] += 1
    return Confusion(
        both_pass=counts[(True, True)],
        missed=counts[(True, False)],
        false_alarm=counts[(False, True)],
        both_fail=counts[(False, False)],
    )


@dataclass(frozen=True, slots=True)
class Kappa:
    """Cohen's kappa with its asymptotic standard error and interval; None + reason when
    undefined."""

    value: float | None
    se: float | None
    low: float | None
    high: float | None
    reason: str | None = None  # why a number is missing or should be read with care


def cohen_kappa(table: Confusion, confidence: float = 0.95) -> Kappa:
    """Cohen's kappa for the 2x2 table, its SE (Fleiss, Cohen & Everitt) and interval."""
    n = table.n
    if n == 0:
        return Kappa(None, None, None, None, "no labelled pairs")
    cells = table.table()
    p = [[cells[i][j] / n for j in range(2)] for i in range(2)]
    rows = [p[i][0] + p[i][1] for i in range(2)]  # the judge's marginals
    cols = [p[0][j] + p[1][j] for j in range(2)]  # the humans' marginals
    observed = p[0][0] + p[1][1]
    expected = rows[0] * cols[0] + rows[1] * cols[1]
    if math.isclose(expected, 1.0):
        # judge and humans both said only pass (or only fail): chance explains all of
        # the agreement, and kappa is 0/0
        return Kappa(
            None, None, None, None, "undefined: judge and humans each gave only one verdict"
        )
    kappa = (observed - expected) / (1.0 - expected)
    for marginals, who in ((rows, "the judge"), (cols, "humans")):
        if 0.0 in marginals:
            # a constant rater agrees exactly as often as chance says: kappa is 0 and its
            # large-sample variance is 0, an interval that would claim certainty
            return Kappa(kappa, None, None, None, f"{who} gave only one verdict: no interval")
    term_a = sum(p[i][i] * (1.0 - (rows[i] + cols[i]) * (1.0 - kappa)) ** 2 for i in range(2))
    term_b = (1.0 - kappa) ** 2 * sum(
        p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(2) for j in range(2) if i != j
    )
    term_c = (kappa - expected * (1.0 - kappa)) ** 2
    variance = (term_a + term_b - term_c) / (1.0 - expected) ** 2 / n
    se = math.sqrt(max(variance, 0.0))  # rounding can leave -1e-17 at perfect agreement
    z = z_value(confidence)
    if se == 0.0:
        # perfect agreement (or perfect disagreement): the large-sample variance is 0,
        # and an interval [1, 1] would claim a certainty no finite sample gives
        return Kappa(kappa, se, None, None, "large-sample variance 0: no interval")
    low, high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
    reason = f"only {n} pairs: the large-sample interval is rough" if n < SMALL_N else None
    return Kappa(kappa, se, low, high, reason)


@dataclass(frozen=True, slots=True)
class Rate:
    """A proportion with its Wilson interval; None + reason when its denominator is 0."""

    value: float | None
    low: float | None
    high: float | None
    count: int  # numerator
    of: int  # denominator
    reason: str | None = None


def _rate(count: int, of: int, empty: str) -> Rate:
    if of == 0:
        return Rate(None, None, None, 0, 0, empty)
    low, high = wilson_interval(count, of)
    return Rate(count / of, low, high, count, of)


@dataclass(frozen=True, slots=True)
class Agreement:
    """Everything calibration says about one set of pairs."""

    confusion: Confusion
    agreement: Rate  # raw agreement
    kappa: Kappa
    fail_recall: Rate  # of the failures humans saw, how many the judge failed too
    fail_precision: Rate  # of the judge's fails, how many humans agreed were failures

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (None for missing numbers) for `--json` and run summaries."""
        return {
            "n": self.confusion.n,
            "confusion": asdict(self.confusion),
            "agreement": asdict(self.agreement),
            "kappa": asdict(self.kappa),
            "fail_recall": asdict(self.fail_recall),
            "fail_precision": asdict(self.fail_precision),
        }


def agreement(pairs: Iterable[tuple[bool, bool]]) -> Agreement:
    """Agreement statistics for (judge_passed, human_passed) pairs."""
    table = confusion(pairs)
    return Agreement(
        confusion=table,
        agreement=_rate(table.agree, table.n, "no labelled pairs"),
        kappa=cohen_kappa(table),
        fail_recall=_rate(
            table.both_fail, table.both_fail + table.missed, "humans marked nothing as failing"
        ),
        fail_precision=_rate(
            table.both_fail, table.both_fail + table.false_alarm, "the judge failed nothing"
        ),
    )


# What a plan's `calibration: min_kappa` concluded about one metric in a run.
STATUSES = ("ok", "below", "too_few", "no_labels", "undefined")


def check(result: Agreement | None, min_kappa: float | None, min_labels: int) -> str:
    """ok | below | too_few | no_labels | undefined for a plan's minimum kappa."""
    if result is None or result.confusion.n == 0:
        return "no_labels"
    if result.confusion.n < min_labels:
        return "too_few"
    value = result.kappa.value
    if value is None:
        return "undefined"
    if min_kappa is not None and value < min_kappa:
        return "below"
    return "ok"
