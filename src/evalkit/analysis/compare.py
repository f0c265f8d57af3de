"""Pure: two runs' trial rows -> a Comparison (per case, and per suite x target x metric).

Only cases present in both runs with the same content hash are paired; cases added,
removed or edited between the runs are listed apart, never mixed into the statistics.
With K epochs a case's mean over its epochs is the unit that is paired: every test and
interval works on per-case means (clustered where cases share a `cluster`), so no
epoch is thrown away and epochs never count as independent cases. McNemar's exact test
is used where it is exact: one epoch on both sides, a 0/1 metric, no clusters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import fmean

from evalkit.analysis.case_summary import (
    PASS_METRIC as PASS_METRIC,  # re-exported: renderers and the gate name metrics by it
)
from evalkit.analysis.case_summary import (
    SCORE_METRIC as SCORE_METRIC,
)
from evalkit.analysis.case_summary import (
    CaseKey,
    CaseSummary,
    summarize,
    without_cycle_collection,
)
from evalkit.analysis.human_verdict import HumanVerdict
from evalkit.analysis.stats import (
    PairedDifference,
    interval_label,
    mcnemar_drop,
    mcnemar_exact,
    min_attainable_p,
    paired_difference,
)
from evalkit.records import TrialRow

Variant = tuple[str, str, str | None]  # suite, target, prompt
# a run's cases: case -> its summary, and (suite, case) -> its content hash
Summaries = tuple[dict[CaseKey, CaseSummary], dict[tuple[str, str], str]]
# (base values, candidate values, clusters) -> their paired difference, per group
_Values = tuple[tuple[float, ...], tuple[float, ...], tuple[str | None, ...]]
_Tested = dict[_Values, PairedDifference]

FLAKY_EPOCHS = 3  # a case is called flaky only on this many epochs of evidence in one run
MCNEMAR = "McNemar exact"


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One paired case (over its epochs): how its pass outcome and score moved."""

    suite: str
    case_id: str
    target_id: str
    prompt_id: str | None
    base_score: float
    candidate_score: float
    base_pass_rate: float  # share of the case's epochs that passed
    candidate_pass_rate: float

    @property
    def base_passed(self) -> bool:
        """Whether every base epoch passed."""
        return self.base_pass_rate == 1.0

    @property
    def candidate_passed(self) -> bool:
        """Whether every candidate epoch passed."""
        return self.candidate_pass_rate == 1.0

    @property
    def delta(self) -> float:
        """Candidate score minus base score."""
        return self.candidate_score - self.base_score

    @property
    def change(self) -> str:
        """regressed (its pass rate fell), fixed (rose) or unchanged.

        With one epoch: pass -> fail and fail -> pass. With more, a case whose share of
        passing epochs moved (2/3 -> 1/3): single cases move by chance, which is why the
        verdict and the gate test the group, not the count.
        """
        if self.candidate_pass_rate < self.base_pass_rate:
            return "regressed"
        if self.candidate_pass_rate > self.base_pass_rate:
            return "fixed"
        return "unchanged"

    @property
    def name(self) -> str:
        """suite/case@target[prompt], as trial ids read."""
        return _name(self.suite, self.case_id, self.target_id, self.prompt_id)


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
    cases: list[CaseChange]
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
    def regressions(self) -> list[CaseChange]:
        """Paired cases that passed in the base and fail in the candidate."""
        return [c for c in self.cases if c.change == "regressed"]

    @property
    def fixes(self) -> list[CaseChange]:
        """Paired cases that failed in the base and pass in the candidate."""
        return [c for c in self.cases if c.change == "fixed"]


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
        return _compare(base_run, summarize(base), candidate_run, summarize(candidate), confidence)


def compare_summaries(
    base_run: str,
    base: Summaries,
    candidate_run: str,
    candidate: Summaries,
    confidence: float = 0.95,
) -> Comparison:
    """`compare` from each run's per-case summaries (`case_summary.from_case_rows`)."""
    with without_cycle_collection():
        return _compare(base_run, base, candidate_run, candidate, confidence)


def _compare(
    base_run: str,
    base: Summaries,
    candidate_run: str,
    candidate: Summaries,
    confidence: float,
) -> Comparison:
    base_cases, base_hashes = base
    cand_cases, cand_hashes = candidate
    both = base_hashes.keys() & cand_hashes.keys()
    changed = {k for k in both if base_hashes[k] != cand_hashes[k]}
    pairable = both - changed
    base_variants = {_variant(k) for k in base_cases}
    cand_variants = {_variant(k) for k in cand_cases}
    paired_keys = sorted(
        (k for k in base_cases.keys() & cand_cases.keys() if (k[0], k[1]) in pairable),
        key=_case_order,
    )
    changes = [_case_change(k, base_cases[k], cand_cases[k]) for k in paired_keys]
    groups: dict[Variant, list[CaseKey]] = defaultdict(list)
    for key in paired_keys:
        groups[_variant(key)].append(key)
    return Comparison(
        base_run=base_run,
        candidate_run=candidate_run,
        confidence=confidence,
        groups=[
            _group(variant, keys, base_cases, cand_cases, confidence)
            for variant, keys in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))
        ],
        cases=changes,
        added=sorted(f"{s}/{c}" for s, c in cand_hashes.keys() - base_hashes.keys()),
        removed=sorted(f"{s}/{c}" for s, c in base_hashes.keys() - cand_hashes.keys()),
        changed_content=sorted(f"{s}/{c}" for s, c in changed),
        unpaired_variants=sorted(
            _variant_name(v) for v in base_variants ^ cand_variants if v is not None
        ),
        flaky=_flaky("base", base_cases) + _flaky("candidate", cand_cases),
        unconfirmed_flaky=_unconfirmed(base_cases) + _unconfirmed(cand_cases),
        flaky_by_chance=flaky_by_chance(base_cases) + flaky_by_chance(cand_cases),
    )


def _variant(key: CaseKey) -> Variant:
    return key[0], key[2], key[3]


def _sort_key(key: tuple[str | None, ...]) -> tuple[str, ...]:
    return tuple(part or "" for part in key)


def _case_change(key: CaseKey, base: CaseSummary, cand: CaseSummary) -> CaseChange:
    return CaseChange(
        suite=key[0],
        case_id=key[1],
        target_id=key[2],
        prompt_id=key[3],
        base_score=base.mean_score,
        candidate_score=cand.mean_score,
        base_pass_rate=base.pass_rate,
        candidate_pass_rate=cand.pass_rate,
    )


def _group(
    variant: Variant,
    keys: list[CaseKey],
    base: dict[CaseKey, CaseSummary],
    cand: dict[CaseKey, CaseSummary],
    confidence: float,
) -> GroupComparison:
    pairs = [(base[k], cand[k]) for k in keys]  # once per group, not once per metric
    metric_names = sorted(
        {m for b, _ in pairs for m in b.grades} & {m for _, c in pairs for m in c.grades}
    )
    tested: _Tested = {}
    metrics = [
        _metric(name, pairs, confidence, tested)
        for name in [PASS_METRIC, SCORE_METRIC, *metric_names]
    ]
    return GroupComparison(
        suite=variant[0],
        target_id=variant[1],
        prompt_id=variant[2],
        metrics=metrics,
        base_epochs=max(b.trials for b, _ in pairs),
        candidate_epochs=max(c.trials for _, c in pairs),
        base_within_variance=_within_variance(b for b, _ in pairs),
        candidate_within_variance=_within_variance(c for _, c in pairs),
    )


def _metric(
    name: str,
    pairs: list[tuple[CaseSummary, CaseSummary]],
    confidence: float,
    tested: _Tested,
) -> MetricComparison:
    if name in (PASS_METRIC, SCORE_METRIC):  # every case has them: no lookups needed
        flags = [(b.passed / b.trials, c.passed / c.trials) for b, c in pairs]
        if name == PASS_METRIC:
            values = flags
        else:
            values = [(b.score_sum / b.trials, c.score_sum / c.trials) for b, c in pairs]
        most_base = max((b.trials for b, _ in pairs), default=0)
        most_cand = max((c.trials for _, c in pairs), default=0)
        clusters = [c.cluster or b.cluster for b, c in pairs]
    else:
        # (base sums, candidate sums, cluster) per case the metric was graded for in both
        # runs; sums are [value total, values, flags passed, flags] (see CaseSummary)
        graded = [
            (bg, cg, c.cluster or b.cluster)
            for b, c in pairs
            if (bg := b.grades.get(name)) is not None
            and (cg := c.grades.get(name)) is not None
            and bg[1]
            and cg[1]
        ]
        values = [(bg[0] / bg[1], cg[0] / cg[1]) for bg, cg, _ in graded]
        flags = [
            (bg[2] / bg[3] if bg[3] else 0.0, cg[2] / cg[3] if cg[3] else 0.0)
            for bg, cg, _ in graded
        ]
        most_base = int(max((bg[1] for bg, _, _ in graded), default=0))
        most_cand = int(max((cg[1] for _, cg, _ in graded), default=0))
        clusters = [cluster for _, _, cluster in graded]
    base_values = [b for b, _ in values]
    cand_values = [c for _, c in values]
    regressed = sum(c < b for b, c in flags)
    fixed = sum(c > b for b, c in flags)
    # a pass/fail suite's score is its pass share: the same numbers are tested once
    memo = (tuple(base_values), tuple(cand_values), tuple(clusters))
    paired = tested.get(memo) or paired_difference(base_values, cand_values, clusters, confidence)
    tested[memo] = paired
    one_epoch = most_base == 1 and most_cand == 1
    if one_epoch and not any(clusters) and _binary(base_values) and _binary(cand_values):
        # one epoch, a 0/1 metric, independent cases: McNemar's test on the value's own
        # flips is exact (the pass/fail flags of a score metric are another question)
        down = sum(b > c for b, c in values)
        up = sum(c > b for b, c in values)
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
        epochs=(most_base, most_cand),
    )


def _binary(values: list[float]) -> bool:
    return all(v == 0.0 or v == 1.0 for v in values)


def _case_order(key: CaseKey) -> tuple[str, str, str, str]:
    return key[0], key[1], key[2], key[3] or ""


def _within_variance(cases: Iterable[CaseSummary]) -> float:
    """Mean over cases of the score's sample variance across epochs; NaN with one epoch."""
    variances = [v for case in cases if (v := case.within_variance()) is not None]
    return fmean(variances) if variances else math.nan


def _flaky(side: str, cases: dict[CaseKey, CaseSummary]) -> list[str]:
    """Cases whose epochs disagreed within one run, on at least FLAKY_EPOCHS epochs.

    A case that passes 2 of 3 epochs is non-deterministic: its pass/fail flips between
    runs are noise, not regressions. With fewer epochs a disagreement is too little
    evidence to call, and those are only counted (`_unconfirmed`).
    """
    flaky = [  # filtered first: sorting every case of a large run costs seconds
        (key, case)
        for key, case in cases.items()
        if case.trials >= FLAKY_EPOCHS and 0 < case.passed < case.trials
    ]
    return [
        f"{side}: {_name(*key)} ({case.passed}/{case.trials} epochs passed)"
        for key, case in sorted(flaky, key=lambda kv: _sort_key(kv[0]))
    ]


def flaky_by_chance(cases: dict[CaseKey, CaseSummary]) -> float:
    """The expected number of cases `_flaky` would list if nothing were flaky but chance.

    Chance: every trial of a suite x target passes independently at that suite x
    target's pass rate r, so a case of K >= FLAKY_EPOCHS epochs disagrees with itself
    with probability 1 - r**K - (1 - r)**K. A list about this long says the epochs
    disagree as much as coin flips would, and no single listed case is evidence; a much
    shorter one says most cases are steady and the listed ones are not.
    """
    totals: dict[Variant, list[int]] = defaultdict(lambda: [0, 0])
    for key, case in cases.items():
        total = totals[_variant(key)]
        total[0] += case.passed
        total[1] += case.trials
    chances = []
    for key, case in cases.items():
        if case.trials >= FLAKY_EPOCHS:
            passed, trials = totals[_variant(key)]
            rate = passed / trials
            chances.append(1.0 - rate**case.trials - (1.0 - rate) ** case.trials)
    return math.fsum(chances)  # exact: the same in whatever order the cases come


def _unconfirmed(cases: dict[CaseKey, CaseSummary]) -> int:
    return sum(1 for c in cases.values() if 1 < c.trials < FLAKY_EPOCHS and 0 < c.passed < c.trials)


def _name(suite: str, case_id: str, target_id: str, prompt_id: str | None) -> str:
    target = f"{target_id}[{prompt_id}]" if prompt_id else target_id
    return f"{suite}/{case_id}@{target}"


def _variant_name(variant: Variant) -> str:
    suite, target, prompt = variant
    return f"{suite} x {target}[{prompt}]" if prompt else f"{suite} x {target}"
