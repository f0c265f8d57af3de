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
from datetime import datetime
from typing import Any, Protocol

from evalkit.stats import wilson_interval, z_value

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
    low, high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
    reason = None
    if n < SMALL_N:
        reason = f"only {n} pairs: the large-sample interval is rough"
    elif se == 0.0:
        reason = "the large-sample variance is 0 here: the interval understates uncertainty"
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


class PairLike(Protocol):
    """One judged grade and the human verdict on it (store/calibration_rows.PairRow)."""

    @property
    def run_id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def judge_model(self) -> str: ...
    @property
    def config_hash(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def judge_passed(self) -> bool | None: ...
    @property
    def human_passed(self) -> bool: ...
    @property
    def from_grade(self) -> bool: ...
    @property
    def reviewer(self) -> str: ...


class RunJudgingLike(Protocol):
    """The judge versions one run used for one metric (store/calibration_rows.RunJudging)."""

    @property
    def run_id(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def metric(self) -> str: ...
    @property
    def versions(self) -> frozenset[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class PairSet:
    """Pairs of one metric (or one version of it), with where their truth came from."""

    result: Agreement
    from_grade: int  # pairs whose truth is a label on the grade itself
    from_trial: int  # pairs whose truth is the label on the whole trial
    not_comparable: int  # labelled grades the judge could not grade (error / skipped)
    reviewers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            **self.result.to_json(),
            "from_grade": self.from_grade,
            "from_trial": self.from_trial,
            "not_comparable": self.not_comparable,
            "reviewers": list(self.reviewers),
        }


def pair_set(pairs: Iterable[PairLike]) -> PairSet:
    """Agreement over `pairs`; grades in error or skipped count as not comparable."""
    comparable: list[PairLike] = []
    skipped = 0
    for pair in pairs:
        if pair.status in ("pass", "fail") and pair.judge_passed is not None:
            comparable.append(pair)
        else:
            skipped += 1
    return PairSet(
        result=agreement((bool(p.judge_passed), p.human_passed) for p in comparable),
        from_grade=sum(1 for p in comparable if p.from_grade),
        from_trial=sum(1 for p in comparable if not p.from_grade),
        not_comparable=skipped,
        reviewers=tuple(sorted({p.reviewer for p in comparable})),
    )


@dataclass(frozen=True, slots=True)
class Version:
    """One judge version of a metric: the same judge models and grader configs."""

    number: int  # 1 = the oldest
    judge_models: tuple[str, ...]
    configs: tuple[str, ...]  # grader config hashes (rubric, template, args)
    runs: tuple[str, ...]  # every run that used it, oldest first
    first_at: datetime
    last_at: datetime
    pairs: PairSet
    changes: tuple[str, ...]  # what differs from the version listed before it

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "version": self.number,
            "judge_models": list(self.judge_models),
            "configs": list(self.configs),
            "runs": list(self.runs),
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "changes": list(self.changes),
            **self.pairs.to_json(),
        }


@dataclass(frozen=True, slots=True)
class MetricCalibration:
    """A judged metric's calibration: overall, and per judge version over time."""

    metric: str
    overall: PairSet
    versions: tuple[Version, ...]  # only versions with labelled pairs
    unlabelled_versions: int  # versions no human label reached

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "metric": self.metric,
            "overall": self.overall.to_json(),
            "versions": [v.to_json() for v in self.versions],
            "unlabelled_versions": self.unlabelled_versions,
        }


def by_version(
    pairs: Iterable[PairLike], judging: Iterable[RunJudgingLike]
) -> list[MetricCalibration]:
    """Per metric with labels: overall agreement and one entry per judge version.

    A run's version of a metric is the set of (judge model, grader config) it used, so
    a changed rubric, template or judge model starts a new version; a version that
    comes back (a reverted rubric) is the same version again.
    """
    by_run: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    runs_of: dict[str, dict[frozenset[tuple[str, str]], list[RunJudgingLike]]] = {}
    for entry in judging:
        by_run[(entry.run_id, entry.metric)] = entry.versions
        runs_of.setdefault(entry.metric, {}).setdefault(entry.versions, []).append(entry)
    grouped: dict[str, dict[frozenset[tuple[str, str]], list[PairLike]]] = {}
    for pair in pairs:
        key = by_run.get((pair.run_id, pair.metric), frozenset({(pair.judge_model, "")}))
        grouped.setdefault(pair.metric, {}).setdefault(key, []).append(pair)
    out = []
    for metric in sorted(grouped):
        versions = runs_of.get(metric, {})
        labelled = grouped[metric]
        order = sorted(
            labelled,
            key=lambda k: min((r.started_at for r in versions.get(k, [])), default=datetime.max),
        )
        listed: list[Version] = []
        for key in order:
            used = versions.get(key, [])
            previous = listed[-1] if listed else None
            listed.append(
                Version(
                    number=len(listed) + 1,
                    judge_models=tuple(sorted({m for m, _ in key})),
                    configs=tuple(sorted({c for _, c in key if c})),
                    runs=tuple(r.run_id for r in used),
                    first_at=min((r.started_at for r in used), default=datetime.min),
                    last_at=max((r.started_at for r in used), default=datetime.min),
                    pairs=pair_set(labelled[key]),
                    changes=_changes(previous, key),
                )
            )
        out.append(
            MetricCalibration(
                metric=metric,
                overall=pair_set(p for group in labelled.values() for p in group),
                versions=tuple(listed),
                unlabelled_versions=len(set(versions) - set(labelled)),
            )
        )
    return out


def _changes(previous: Version | None, key: frozenset[tuple[str, str]]) -> tuple[str, ...]:
    """What changed from the previous version: judge model, grader config, or both."""
    if previous is None:
        return ()
    changes = []
    models = sorted({m for m, _ in key})
    if tuple(models) != previous.judge_models:
        changes.append(f"judge model {', '.join(previous.judge_models)} -> {', '.join(models)}")
    configs = {c for _, c in key if c}
    new, gone = configs - set(previous.configs), set(previous.configs) - configs
    if new or gone:
        changes.append(
            f"grader config (rubric/template/args) changed: {len(new)} new, {len(gone)} gone"
        )
    return tuple(changes)
