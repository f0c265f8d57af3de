"""Pure: two runs' cases side by side (a CaseTable) -> a Comparison (per case, and per
suite x target x metric), every test vectorized over the cases of a group.

Only cases present in both runs with the same content hash are paired; cases added,
removed or edited between the runs are listed apart, never mixed into the statistics.
With K epochs a case's mean over its epochs is the unit that is paired: every test and
interval works on per-case means (clustered where cases share a `cluster`), so no
epoch is thrown away and epochs never count as independent cases. McNemar's exact test
is used where it is exact: one epoch on both sides, a 0/1 metric, no clusters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.analysis.case_changes import CaseChange as CaseChange  # re-exported
from evalkit.analysis.case_changes import CaseChanges, case_name
from evalkit.analysis.case_table import (
    PASS_METRIC as PASS_METRIC,  # re-exported: renderers and the gate name metrics by it
)
from evalkit.analysis.case_table import (
    SCORE_METRIC as SCORE_METRIC,
)
from evalkit.analysis.case_table import (
    CaseTable,
    RunSums,
    Variant,
    from_trials,
    without_cycle_collection,
)
from evalkit.analysis.human_verdict import HumanVerdict
from evalkit.analysis.paired import NO_CLUSTER, PairedDifference, paired_arrays
from evalkit.analysis.stats import (
    interval_label,
    mcnemar_drop,
    mcnemar_exact,
    min_attainable_p,
)
from evalkit.records import TrialRow

Rows = npt.NDArray[np.intp]
# (base values, candidate values, clusters) as bytes -> their paired difference, per group
_Tested = dict[tuple[bytes, bytes, bytes], PairedDifference]

FLAKY_EPOCHS = 3  # a case is called flaky only on this many epochs of evidence in one run
MCNEMAR = "McNemar exact"


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric of one suite x target x prompt: paired difference, flips, verdict."""

    metric: str
    paired: PairedDifference
    regressed: int  # cases whose share of passing epochs fell
    fixed: int  # cases whose share of passing epochs rose
    p_value: float  # two-sided, of `test`
    p_drop: float  # one-sided against "the candidate is lower", of `test`
    test: str  # McNemar exact | paired t (G-1 df) | sign-flip exact
    # significant regression | no detectable change | significant improvement | too few to tell
    verdict: str
    epochs: tuple[int, int] = (1, 1)  # most epochs per case: base, candidate

    @property
    def mcnemar_p(self) -> float:
        """McNemar's exact p where that is the test used, else NaN."""
        return self.p_value if self.test == MCNEMAR else math.nan

    def label(self, confidence: float) -> str:
        """What the difference's interval is over, in words."""
        return interval_label(confidence, self.paired.n, max(self.epochs), self.paired.clusters)


@dataclass(frozen=True, slots=True)
class GroupComparison:
    """Everything compared for one suite x target x prompt."""

    suite: str
    target_id: str
    prompt_id: str | None
    metrics: list[MetricComparison]
    base_epochs: int
    candidate_epochs: int
    base_within_variance: float  # mean over cases of the score's variance across epochs
    candidate_within_variance: float

    @property
    def name(self) -> str:
        """suite x target[prompt]."""
        target = f"{self.target_id}[{self.prompt_id}]" if self.prompt_id else self.target_id
        return f"{self.suite} x {target}"

    def metric(self, name: str) -> MetricComparison | None:
        """The comparison of one metric, if both runs have it."""
        return next((m for m in self.metrics if m.metric == name), None)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two runs compared: paired cases, per-group statistics, and what could not pair."""

    base_run: str
    candidate_run: str
    confidence: float
    groups: list[GroupComparison]
    cases: CaseChanges  # every paired case, in case order
    added: list[str]  # suite/case only in the candidate
    removed: list[str]  # suite/case only in the base
    changed_content: list[str]  # suite/case in both whose content hash differs
    unpaired_variants: list[str]  # suite x target[prompt] that ran in one run only
    # side: suite/case@target (k/K epochs passed): epochs disagreed within one run, with at
    # least FLAKY_EPOCHS of them
    flaky: list[str]
    # "base" / "candidate" -> case name -> the human verdict, where reviewers gave one
    human: dict[str, dict[str, HumanVerdict]] = field(default_factory=dict)
    # cases whose epochs disagreed with fewer than FLAKY_EPOCHS epochs: too little to call
    unconfirmed_flaky: int = 0
    # how many cases of FLAKY_EPOCHS+ epochs chance alone would list as flaky (both runs;
    # see `flaky_by_chance`)
    flaky_by_chance: float = 0.0

    @property
    def flaky_note(self) -> str:
        """What the flaky count means, in words: the one wording every screen uses."""
        return (
            f"{len(self.flaky)} listed; about {self.flaky_by_chance:.0f} would be by chance "
            "alone, if every trial of a suite x target passed at its pass rate"
        )

    def human_note(self, name: str) -> str:
        """' · human: base pass (ana), candidate fail (bo)' for a reviewed case, else ''."""
        said = [
            f"{side} {verdict.said} ({', '.join(verdict.reviewers)})"
            for side in ("base", "candidate")
            if (verdict := self.human.get(side, {}).get(name)) is not None
        ]
        return f" · human: {', '.join(said)}" if said else ""

    @property
    def regressions(self) -> Sequence[CaseChange]:
        """Paired cases whose share of passing epochs fell."""
        return self.cases.regressed()

    @property
    def fixes(self) -> Sequence[CaseChange]:
        """Paired cases whose share of passing epochs rose."""
        return self.cases.fixed()


def verdict(
    paired: PairedDifference,
    p_value: float,
    confidence: float = 0.95,
    nonzero: int | None = None,
) -> str:
    """A difference in words: the side of zero it lies on, if its test can tell.

    "too few to tell" when even the most lopsided outcome of the `nonzero` non-zero
    differences (or discordant pairs) could not reach the level: two cases that both
    regress are not evidence, whatever a standard error of 0 would say.
    """
    alpha = 1.0 - confidence
    changed = paired.nonzero if nonzero is None else nonzero
    if paired.n < 2 or math.isnan(p_value) or min_attainable_p(changed) >= alpha:
        return "too few to tell"
    if p_value >= alpha:
        return "no detectable change"
    return "significant regression" if paired.difference < 0 else "significant improvement"


def compare(
    base_run: str,
    base: list[TrialRow],
    candidate_run: str,
    candidate: list[TrialRow],
    confidence: float = 0.95,
) -> Comparison:
    """Pair the two runs' cases and compare every suite x target x prompt and metric."""
    with without_cycle_collection():
        return compare_table(base_run, candidate_run, from_trials(base, candidate), confidence)


def compare_table(
    base_run: str, candidate_run: str, table: CaseTable, confidence: float = 0.95
) -> Comparison:
    """`compare` from both runs' per-case sums (`case_table.from_columns` for stored runs,
    `case_table.from_trials` for trial rows)."""
    base, cand = table.base, table.candidate
    # paired: both runs have counted epochs of the case, with the same content
    paired = np.flatnonzero((base.trials > 0) & (cand.trials > 0) & table.same_content)
    in_base = set(np.unique(table.variant[base.trials > 0]).tolist())
    in_cand = set(np.unique(table.variant[cand.trials > 0]).tolist())
    groups = [
        _group(table, paired[table.variant[paired] == v], confidence)
        for v in np.unique(table.variant[paired]).tolist()  # variants are sorted
    ]
    return Comparison(
        base_run=base_run,
        candidate_run=candidate_run,
        confidence=confidence,
        groups=groups,
        cases=CaseChanges(table, paired),
        added=table.added,
        removed=table.removed,
        changed_content=table.changed_content,
        unpaired_variants=sorted(_variant_name(table.variants[v]) for v in in_base ^ in_cand),
        flaky=_flaky("base", table, base) + _flaky("candidate", table, cand),
        unconfirmed_flaky=_unconfirmed(base) + _unconfirmed(cand),
        flaky_by_chance=flaky_by_chance(table, base) + flaky_by_chance(table, cand),
    )


def _group(table: CaseTable, rows: Rows, confidence: float) -> GroupComparison:
    base, cand = table.base, table.candidate
    shared = base.graded[rows].any(axis=0) & cand.graded[rows].any(axis=0)
    tested: _Tested = {}
    passes = _pass_values(table, rows)
    metrics = [
        _metric(PASS_METRIC, passes, confidence, tested),
        _metric(SCORE_METRIC, _score_values(table, rows, passes), confidence, tested),
        *(
            _metric(table.metrics[i], _metric_values(table, rows, i), confidence, tested)
            for i in np.flatnonzero(shared).tolist()
        ),
    ]
    suite, target, prompt = table.variants[int(table.variant[rows[0]])]
    return GroupComparison(
        suite=suite,
        target_id=target,
        prompt_id=prompt,
        metrics=metrics,
        base_epochs=passes.epochs[0],
        candidate_epochs=passes.epochs[1],
        base_within_variance=_within_variance(base, rows),
        candidate_within_variance=_within_variance(cand, rows),
    )


@dataclass(frozen=True, slots=True)
class _Values:
    """One metric's per-case means and pass shares over the cases that have it in both."""

    base: npt.NDArray[np.float64]
    candidate: npt.NDArray[np.float64]
    base_flags: npt.NDArray[np.float64]  # share of epochs that passed on the metric
    candidate_flags: npt.NDArray[np.float64]
    clusters: npt.NDArray[np.int64]
    epochs: tuple[int, int]  # most epochs with a value: base, candidate


def _pass_values(table: CaseTable, rows: Rows) -> _Values:
    base = table.base.passed[rows] / table.base.trials[rows]
    cand = table.candidate.passed[rows] / table.candidate.trials[rows]
    return _Values(base, cand, base, cand, table.cluster[rows], _most(table, rows))


def _score_values(table: CaseTable, rows: Rows, flags: _Values) -> _Values:
    """Mean scores, with the pass shares (`flags`, `_pass_values`) as their flags."""
    return _Values(
        table.base.score_sum[rows] / table.base.trials[rows],
        table.candidate.score_sum[rows] / table.candidate.trials[rows],
        flags.base,
        flags.candidate,
        flags.clusters,
        flags.epochs,
    )


def _most(table: CaseTable, rows: Rows) -> tuple[int, int]:
    return int(table.base.trials[rows].max()), int(table.candidate.trials[rows].max())


def _metric_values(table: CaseTable, all_rows: Rows, i: int) -> _Values:
    """The cases graded on metric i in both runs (a value in at least one epoch each)."""
    base, cand = table.base, table.candidate
    rows = all_rows[(base.values[all_rows, i] > 0) & (cand.values[all_rows, i] > 0)]

    def share(side: RunSums) -> npt.NDArray[np.float64]:
        flags = side.flags[rows, i]
        passed = side.flags_passed[rows, i]
        shares: npt.NDArray[np.float64] = np.zeros(rows.size)
        np.divide(passed, flags, out=shares, where=flags > 0)
        return shares

    return _Values(
        base.value_sum[rows, i] / base.values[rows, i],
        cand.value_sum[rows, i] / cand.values[rows, i],
        share(base),
        share(cand),
        table.cluster[rows],
        (int(base.values[rows, i].max(initial=0)), int(cand.values[rows, i].max(initial=0))),
    )


def _metric(name: str, v: _Values, confidence: float, tested: _Tested) -> MetricComparison:
    regressed = int(np.count_nonzero(v.candidate_flags < v.base_flags))
    fixed = int(np.count_nonzero(v.candidate_flags > v.base_flags))
    # a pass/fail suite's score is its pass share: the same numbers are tested once
    memo = (v.base.tobytes(), v.candidate.tobytes(), v.clusters.tobytes())
    paired = tested.get(memo) or paired_arrays(v.base, v.candidate, v.clusters, confidence)
    tested[memo] = paired
    clustered = bool(np.any(v.clusters != NO_CLUSTER))
    if v.epochs == (1, 1) and not clustered and _binary(v.base) and _binary(v.candidate):
        # one epoch, a 0/1 metric, independent cases: McNemar's test on the value's own
        # flips is exact (the pass/fail flags of a score metric are another question)
        down = int(np.count_nonzero(v.base > v.candidate))
        up = int(np.count_nonzero(v.candidate > v.base))
        p_value, p_drop, test, moved = (
            mcnemar_exact(down, up),
            mcnemar_drop(down, up),
            MCNEMAR,
            down + up,
        )
    else:
        p_value, p_drop, test, moved = paired.p_value, paired.p_drop, paired.test, paired.nonzero
    return MetricComparison(
        metric=name,
        paired=paired,
        regressed=regressed,
        fixed=fixed,
        p_value=p_value,
        p_drop=p_drop,
        test=test,
        verdict=verdict(paired, p_value, confidence, moved),
        epochs=v.epochs,
    )


def _binary(values: npt.NDArray[np.float64]) -> bool:
    return bool(np.all((values == 0.0) | (values == 1.0)))


def _within_variance(side: RunSums, rows: Rows) -> float:
    """Mean over cases of the score's sample variance across epochs; NaN with one epoch."""
    n = side.trials[rows]
    several = n >= 2
    if not bool(several.any()):
        return math.nan
    k = n[several]
    total, squares = side.score_sum[rows][several], side.score_squares[rows][several]
    variances = np.maximum(0.0, (squares - total * total / k) / (k - 1))
    return math.fsum(variances.tolist()) / int(k.size)


def _flaky(side: str, table: CaseTable, sums: RunSums) -> list[str]:
    """Cases whose epochs disagreed within one run, on at least FLAKY_EPOCHS epochs.

    A case that passes 2 of 3 epochs is non-deterministic: its pass/fail flips between
    runs are noise, not regressions. With fewer epochs a disagreement is too little
    evidence to call, and those are only counted (`_unconfirmed`).
    """
    rows = np.flatnonzero(
        (sums.trials >= FLAKY_EPOCHS) & (sums.passed > 0) & (sums.passed < sums.trials)
    )
    return [
        f"{side}: {case_name(*table.key(r))} ({sums.passed[r]}/{sums.trials[r]} epochs passed)"
        for r in rows.tolist()  # the table is in case order
    ]


def flaky_by_chance(table: CaseTable, sums: RunSums) -> float:
    """The expected number of cases `_flaky` would list if nothing were flaky but chance.

    Chance: every trial of a suite x target passes independently at that suite x
    target's pass rate r, so a case of K >= FLAKY_EPOCHS epochs disagrees with itself
    with probability 1 - r**K - (1 - r)**K. A list about this long says the epochs
    disagree as much as coin flips would, and no single listed case is evidence; a much
    shorter one says most cases are steady and the listed ones are not.
    """
    ran = sums.trials > 0
    variants = len(table.variants)
    passed = np.bincount(table.variant[ran], weights=sums.passed[ran], minlength=variants)
    trials = np.bincount(table.variant[ran], weights=sums.trials[ran], minlength=variants)
    enough = sums.trials >= FLAKY_EPOCHS
    rate: Any = passed[table.variant[enough]] / trials[table.variant[enough]]
    k = sums.trials[enough]
    chances = 1.0 - rate**k - (1.0 - rate) ** k
    return math.fsum(chances.tolist())  # exact: the same in whatever order the cases come


def _unconfirmed(sums: RunSums) -> int:
    return int(
        np.count_nonzero(
            (sums.trials > 1)
            & (sums.trials < FLAKY_EPOCHS)
            & (sums.passed > 0)
            & (sums.passed < sums.trials)
        )
    )


def _variant_name(variant: Variant) -> str:
    suite, target, prompt = variant
    return f"{suite} x {target}[{prompt}]" if prompt else f"{suite} x {target}"
