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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import fmean

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

PASS_METRIC = "pass"  # the pass rate, as a metric (1 for a passing trial, else 0)
SCORE_METRIC = "score"  # the trial's weighted score

Variant = tuple[str, str, str | None]  # suite, target, prompt
CaseKey = tuple[str, str, str, str | None]  # suite, case, target, prompt


ValueOf = Callable[[TrialRow], float | None]  # a trial's value of one metric
FlagOf = Callable[[TrialRow], bool | None]  # whether a trial passed on one metric

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
    base_cases, cand_cases = _by_case(base), _by_case(candidate)
    base_hashes, cand_hashes = _hashes(base), _hashes(candidate)
    both = base_hashes.keys() & cand_hashes.keys()
    changed = {k for k in both if base_hashes[k] != cand_hashes[k]}
    pairable = both - changed
    base_variants = {_variant(k) for k in base_cases}
    cand_variants = {_variant(k) for k in cand_cases}
    paired_keys = sorted(
        (k for k in base_cases.keys() & cand_cases.keys() if (k[0], k[1]) in pairable),
        key=_sort_key,
    )
    changes = [
        c for k in paired_keys if (c := _case_change(k, base_cases[k], cand_cases[k])) is not None
    ]
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
        unconfirmed_flaky=_unconfirmed("base", base_cases) + _unconfirmed("candidate", cand_cases),
    )


def _by_case(rows: list[TrialRow]) -> dict[CaseKey, list[TrialRow]]:
    cases: dict[CaseKey, list[TrialRow]] = defaultdict(list)
    for row in rows:
        if row.status != "skipped":  # a skipped trial says nothing about the system
            cases[(row.suite, row.case_id, row.target_id, row.prompt_id)].append(row)
    return cases


def _hashes(rows: list[TrialRow]) -> dict[tuple[str, str], str]:
    return {(row.suite, row.case_id): row.case_hash for row in rows}


def _variant(key: CaseKey) -> Variant:
    return key[0], key[2], key[3]


def _sort_key(key: tuple[str | None, ...]) -> tuple[str, ...]:
    return tuple(part or "" for part in key)


def _case_pass_rate(trials: list[TrialRow]) -> float:
    """The share of the case's epochs that passed (an error is not a pass)."""
    return sum(t.status == "pass" for t in trials) / len(trials)


def _trial_score(trial: TrialRow) -> float:
    # an error is an answer the system failed to give: it scores 0, as it counts
    # against the pass rate
    return 0.0 if trial.score is None else float(trial.score)


def _case_change(key: CaseKey, base: list[TrialRow], cand: list[TrialRow]) -> CaseChange | None:
    if not base or not cand:
        return None
    return CaseChange(
        suite=key[0],
        case_id=key[1],
        target_id=key[2],
        prompt_id=key[3],
        base_score=fmean(_trial_score(t) for t in base),
        candidate_score=fmean(_trial_score(t) for t in cand),
        base_pass_rate=_case_pass_rate(base),
        candidate_pass_rate=_case_pass_rate(cand),
    )


def _group(
    variant: Variant,
    keys: list[CaseKey],
    base: dict[CaseKey, list[TrialRow]],
    cand: dict[CaseKey, list[TrialRow]],
    confidence: float,
) -> GroupComparison:
    metric_names = sorted(
        {m for k in keys for t in base[k] for m in t.grades}
        & {m for k in keys for t in cand[k] for m in t.grades}
    )
    metrics = [
        _metric(PASS_METRIC, keys, base, cand, confidence, _pass_value, _pass_flag),
        _metric(SCORE_METRIC, keys, base, cand, confidence, _score_value, _pass_flag),
    ]
    for name in metric_names:
        metrics.append(
            _metric(name, keys, base, cand, confidence, _grade_value(name), _grade_flag(name))
        )
    return GroupComparison(
        suite=variant[0],
        target_id=variant[1],
        prompt_id=variant[2],
        metrics=metrics,
        base_epochs=max(len(base[k]) for k in keys),
        candidate_epochs=max(len(cand[k]) for k in keys),
        base_within_variance=_within_variance(base[k] for k in keys),
        candidate_within_variance=_within_variance(cand[k] for k in keys),
    )


def _pass_value(trial: TrialRow) -> float | None:
    return 1.0 if trial.status == "pass" else 0.0


def _score_value(trial: TrialRow) -> float | None:
    return _trial_score(trial)


def _pass_flag(trial: TrialRow) -> bool | None:
    return trial.status == "pass"


def _grade_value(metric: str) -> ValueOf:
    def value(trial: TrialRow) -> float | None:
        grade = trial.grades.get(metric)
        return None if grade is None else grade[0]

    return value


def _grade_flag(metric: str) -> FlagOf:
    def flag(trial: TrialRow) -> bool | None:
        grade = trial.grades.get(metric)
        return None if grade is None else grade[1]

    return flag


def _metric(
    name: str,
    keys: list[CaseKey],
    base: dict[CaseKey, list[TrialRow]],
    cand: dict[CaseKey, list[TrialRow]],
    confidence: float,
    value: ValueOf,
    flag: FlagOf,
) -> MetricComparison:
    base_values: list[float] = []
    cand_values: list[float] = []
    clusters: list[str | None] = []
    regressed = fixed = 0
    most = [0, 0]
    for key in keys:
        b, c = _case_mean(base[key], value), _case_mean(cand[key], value)
        if b is None or c is None:
            continue  # the metric was not graded for this case in one of the runs
        base_values.append(b)
        cand_values.append(c)
        most = [max(most[0], _graded(base[key], value)), max(most[1], _graded(cand[key], value))]
        # the cluster is part of the case's content, the same in both runs
        clusters.append(next((t.cluster for t in cand[key] + base[key] if t.cluster), None))
        b_rate, c_rate = _flag_rate(base[key], flag), _flag_rate(cand[key], flag)
        regressed += c_rate < b_rate
        fixed += c_rate > b_rate
    paired = paired_difference(base_values, cand_values, clusters, confidence)
    binary = all(v in (0.0, 1.0) for v in base_values + cand_values)
    if most == [1, 1] and binary and not any(clusters):
        # one epoch, a 0/1 metric, independent cases: McNemar's test on the value's own
        # flips is exact (the pass/fail flags of a score metric are another question)
        down = sum(b > c for b, c in zip(base_values, cand_values, strict=True))
        up = sum(c > b for b, c in zip(base_values, cand_values, strict=True))
        p_value, p_drop, test, changed = (
            mcnemar_exact(down, up),
            mcnemar_drop(down, up),
            MCNEMAR,
            down + up,
        )
    else:
        p_value, p_drop, test, changed = paired.p_value, paired.p_drop, paired.test, paired.nonzero
    return MetricComparison(
        metric=name,
        paired=paired,
        regressed=regressed,
        fixed=fixed,
        p_value=p_value,
        p_drop=p_drop,
        test=test,
        verdict=verdict(paired, p_value, confidence, changed),
        epochs=(most[0], most[1]),
    )


def _case_mean(trials: list[TrialRow], value: ValueOf) -> float | None:
    values = [v for t in trials if (v := value(t)) is not None]
    return fmean(values) if values else None


def _graded(trials: list[TrialRow], value: ValueOf) -> int:
    return sum(value(t) is not None for t in trials)


def _flag_rate(trials: list[TrialRow], flag: FlagOf) -> float:
    flags = [f for t in trials if (f := flag(t)) is not None]
    return sum(flags) / len(flags) if flags else 0.0


def _within_variance(cases: Iterable[list[TrialRow]]) -> float:
    """Mean over cases of the score's sample variance across epochs; NaN with one epoch."""
    variances = []
    for trials in cases:
        scores = [_trial_score(t) for t in trials]
        if len(scores) > 1:
            mean = fmean(scores)
            variances.append(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
    return fmean(variances) if variances else math.nan


def _flaky(side: str, cases: dict[CaseKey, list[TrialRow]]) -> list[str]:
    """Cases whose epochs disagreed within one run, on at least FLAKY_EPOCHS epochs.

    A case that passes 2 of 3 epochs is non-deterministic: its pass/fail flips between
    runs are noise, not regressions. With fewer epochs a disagreement is too little
    evidence to call, and those are only counted (`_unconfirmed`).
    """
    return [
        f"{side}: {_name(*key)} ({passed}/{len(trials)} epochs passed)"
        for key, trials in sorted(cases.items(), key=lambda kv: _sort_key(kv[0]))
        if len(trials) >= FLAKY_EPOCHS
        and 0 < (passed := sum(t.status == "pass" for t in trials)) < len(trials)
    ]


def _unconfirmed(side: str, cases: dict[CaseKey, list[TrialRow]]) -> int:
    del side  # counted the same on both sides
    return sum(
        1
        for trials in cases.values()
        if 1 < len(trials) < FLAKY_EPOCHS and len({t.status == "pass" for t in trials}) > 1
    )


def _name(suite: str, case_id: str, target_id: str, prompt_id: str | None) -> str:
    target = f"{target_id}[{prompt_id}]" if prompt_id else target_id
    return f"{suite}/{case_id}@{target}"


def _variant_name(variant: Variant) -> str:
    suite, target, prompt = variant
    return f"{suite} x {target}[{prompt}]" if prompt else f"{suite} x {target}"
