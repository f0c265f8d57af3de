"""Judge calibration over time: pairs grouped per metric and judge version, and the
run-time check of a plan's minimum kappa. The grouping is pure; `judge_calibration`
reads its pairs through store/calibration_rows.py (no SQL here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb

from evalkit.analysis.calibration import Agreement, agreement, check
from evalkit.store import calibration_rows
from evalkit.workspace.models import CalibrationSpec


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


def run_check(
    pairs: Iterable[PairLike],
    run_versions: Iterable[RunJudgingLike],
    minimums: dict[str, float | None],
    min_labels: int,
) -> dict[str, dict[str, Any]]:
    """Per metric the run judged: kappa over the labelled grades of the same judge
    version (same judge model and grader config), against the plan's minimum."""
    wanted = {entry.metric: entry.versions for entry in run_versions}
    matching: dict[str, list[PairLike]] = {metric: [] for metric in wanted}
    for pair in pairs:
        if (pair.judge_model, pair.config_hash) in wanted.get(pair.metric, frozenset()):
            matching[pair.metric].append(pair)
    out = {}
    for metric in sorted(wanted):
        found = pair_set(matching[metric]) if matching[metric] else None
        result = found.result if found is not None else None
        kappa = result.kappa if result is not None else None
        out[metric] = {
            "kappa": kappa.value if kappa else None,
            "low": kappa.low if kappa else None,
            "high": kappa.high if kappa else None,
            "n": result.confusion.n if result else 0,
            "agreement": result.agreement.value if result else None,
            "min_kappa": minimums.get(metric),
            "min_labels": min_labels,
            "status": check(result, minimums.get(metric), min_labels),
            "reason": kappa.reason if kappa else None,
        }
    return out


def check_message(metric: str, entry: dict[str, Any]) -> str | None:
    """The warning line for a metric whose calibration is not ok, in words; else None."""
    status = entry["status"]
    if status == "below":
        return (
            f"judge calibration: '{metric}' agrees with human labels at kappa "
            f"{entry['kappa']:.2f} [{_num(entry['low'])}, {_num(entry['high'])}] over "
            f"{entry['n']} labelled grades, below the plan's minimum {entry['min_kappa']:.2f}; "
            f"see `evalkit calibrate --grader {metric}`"
        )
    if status == "too_few":
        return (
            f"judge calibration: '{metric}' has {entry['n']} labelled grades for this judge "
            f"version, too few labels to check (min_labels {entry['min_labels']})"
        )
    if status == "no_labels":
        return (
            f"judge calibration: '{metric}' has no labels for this judge version yet; "
            f"`evalkit review --grader {metric}` makes some"
        )
    if status == "undefined":
        return f"judge calibration: '{metric}' kappa is undefined ({entry['reason']})"
    return None


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def judge_calibration(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    spec: CalibrationSpec | None,
    notice: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """The run's calibration entry (metric -> kappa, n, status) for its summary; notices
    for metrics below the plan's minimum (and, with `calibration:`, unchecked ones)."""
    if not calibration_rows.has_judged(con, run_id):
        return {}
    versions = calibration_rows.run_judging(con, calibration_rows.Scope(run_id=run_id))
    if not versions:
        return {}
    # no label anywhere (most databases, most runs): skip the join over every judged grade
    pairs = (
        calibration_rows.labelled_pairs(con, calibration_rows.Scope())
        if (calibration_rows.has_labels(con))
        else []
    )
    spec = spec or CalibrationSpec()
    minimums = {v.metric: spec.graders.get(v.metric, spec.min_kappa) for v in versions}
    found = run_check(
        pairs,
        versions,
        {m: None if k is None else float(k) for m, k in minimums.items()},
        spec.min_labels,
    )
    configured = any(k is not None for k in minimums.values())
    for metric, entry in found.items():
        message = check_message(metric, entry)
        if message and (entry["status"] == "below" or configured):
            notice(message)
    return found


def kappa_line(metric: str, entry: dict[str, Any]) -> str:
    """One line for `evalkit show` and reports: the metric's kappa and what it means."""
    kappa, n, status = entry.get("kappa"), entry.get("n", 0), entry.get("status")
    minimum = entry.get("min_kappa")
    if status == "no_labels":
        return f"{metric}: no labels for this judge version yet"
    said = "undefined" if kappa is None else f"{kappa:.2f}"
    if kappa is not None and entry.get("low") is not None:
        said += f" [{_num(entry.get('low'))}, {_num(entry.get('high'))}]"
    line = f"{metric}: kappa {said} vs human labels over {n} labelled grades"
    if status == "below":
        line += f", BELOW the plan's minimum {minimum:.2f}"
    elif status == "too_few":
        line += f", too few labels to check (min_labels {entry.get('min_labels')})"
    elif minimum is not None and status == "ok":
        line += f", meets the plan's minimum {minimum:.2f}"
    return line


def reviewed_line(reviewers: list[dict[str, Any]]) -> str:
    """'human labels in force: 12 by ana, 3 by bo (last 2026-11-27 08:05 UTC)'."""
    said = ", ".join(f"{r['labels']} by {r['reviewer']}" for r in reviewers)
    last = max(r["last_at"] for r in reviewers)
    # UTC whatever the machine's zone: reviewers in several zones read the same time
    when = f"{last.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if isinstance(last, datetime) else str(last)
    return f"human labels in force: {said} (last {when})"
