"""The review queue: which trials (or grades) of a run a person should look at, in order.

The same command gives the same queue (a stable order, and sampling by hashing trial
ids with a seed rather than shuffling), so a review can be stopped and resumed and a
spreadsheet export matches the terminal queue item for item.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from evalkit.errors import UsageError
from evalkit.store import review_rows
from evalkit.store.labels import Label, human_labels

ItemKey = tuple[str, int | None]  # (trial_id, grade_idx); grade_idx None = the whole trial
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which items a review covers; every given filter must hold (AND)."""

    failing: bool = False
    disagreements: bool = False
    grader: str | None = None
    sample: int | None = None
    seed: int = 0
    suites: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    def describe(self) -> str:
        """The filters in words, e.g. 'failing, grader llm-rubric, sample 20 (seed 0)'."""
        parts = []
        if self.failing:
            parts.append("failing")
        if self.disagreements:
            parts.append("disagreements")
        if self.grader:
            parts.append(f"grader {self.grader}")
        if self.suites:
            parts.append("suite " + ",".join(self.suites))
        if self.targets:
            parts.append("target " + ",".join(self.targets))
        if self.sample is not None:
            parts.append(f"sample {self.sample} (seed {self.seed})")
        return ", ".join(parts) or "every trial"


@dataclass(frozen=True, slots=True)
class GradeView:
    """One machine grade as the reviewer sees it."""

    idx: int
    grader: str
    metric: str
    status: str
    score: float | None
    passed: bool | None
    reason: str | None
    threshold: float | None
    reasoning: str | None = None
    judge_model: str | None = None
    flakiness: float | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to review: a whole trial, or (with --grader) one grade of it."""

    run_id: str
    trial_id: str
    case_hash: str
    grade_idx: int | None
    metric: str | None
    suite: str
    case_id: str
    target: str
    prompt: str | None
    epoch: int
    status: str  # the trial's status
    score: float | None  # the trial's score
    passed: bool | None  # the trial's verdict
    vars: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    expected: Any = None
    output: str | None = None
    output_data: Any = None
    context: list[str] = field(default_factory=list)
    error: str | None = None
    location: str | None = None
    grades: tuple[GradeView, ...] = ()

    @property
    def key(self) -> ItemKey:
        """(trial_id, grade_idx): what a label in force is looked up by."""
        return (self.trial_id, self.grade_idx)

    @property
    def grade(self) -> GradeView | None:
        """The reviewed grade, for a grade item; None for a whole trial."""
        if self.grade_idx is None:
            return None
        return next((g for g in self.grades if g.idx == self.grade_idx), None)

    @property
    def machine_status(self) -> str:
        """The machine's status for what is reviewed (the grade's, else the trial's)."""
        grade = self.grade
        return grade.status if grade else self.status

    @property
    def machine_score(self) -> float | None:
        """The machine's score for what is reviewed."""
        grade = self.grade
        return grade.score if grade else self.score

    @property
    def machine_passed(self) -> bool | None:
        """The machine's verdict for what is reviewed; None when it gave none (error)."""
        grade = self.grade
        return grade.passed if grade else self.passed

    @property
    def threshold(self) -> float:
        """The score at which a human score counts as a pass."""
        grade = self.grade
        if grade and grade.threshold is not None:
            return grade.threshold
        return DEFAULT_THRESHOLD


@dataclass(slots=True)
class Queue:
    """A run's review queue and the human labels in force when it was loaded."""

    run_id: str
    items: list[Item]
    labels: dict[ItemKey, Label]
    filters: QueueFilter

    def labelled(self) -> int:
        """How many items have a label in force."""
        return sum(1 for item in self.items if item.key in self.labels)

    def first_unlabelled(self) -> int:
        """The index of the first item without a label in force (len(items) if none)."""
        return next(
            (i for i, item in enumerate(self.items) if item.key not in self.labels),
            len(self.items),
        )


def load_queue(con: duckdb.DuckDBPyConnection, run_id: str, filters: QueueFilter) -> Queue:
    """The review queue of `run_id` under `filters`, with the labels in force."""
    rows = [
        row
        for row in review_rows.trial_rows(con, run_id, failing=filters.failing)
        if _any_glob(row["suite"], filters.suites) and _any_glob(row["target_id"], filters.targets)
    ]
    grades: dict[str, list[GradeView]] = {}
    for g in review_rows.grade_rows(con, run_id):
        grades.setdefault(g["trial_id"], []).append(_grade_view(g))
    labels = human_labels(con, run_id)
    trials = [_item(row, tuple(grades.get(row["trial_id"], ()))) for row in rows]
    if filters.disagreements:
        trials = [t for t in trials if disagrees(t, labels)]
    items = trials
    if filters.grader:
        if not any(_matches(g, filters.grader) for gs in grades.values() for g in gs):
            raise _unknown_grader(filters.grader, grades)
        items = [_for_grade(t, g) for t in trials for g in t.grades if _matches(g, filters.grader)]
    if filters.sample is not None:
        items = sample(items, filters.sample, filters.seed)
    return Queue(run_id=run_id, items=items, labels=labels, filters=filters)


def disagrees(item: Item, labels: dict[ItemKey, Label]) -> bool:
    """Whether a trial is contested: its grades split, a judge wavered, or a human differs."""
    statuses = {g.status for g in item.grades}
    if {"pass", "fail"} <= statuses:
        return True
    if any(g.judge_model and g.flakiness for g in item.grades):
        return True
    machine = {None: item.passed} | {g.idx: g.passed for g in item.grades}
    for (trial_id, grade_idx), label in labels.items():
        if trial_id != item.trial_id:
            continue
        said = machine.get(grade_idx)
        if said is not None and label.passed is not None and label.passed != said:
            return True
    return False


def sample(items: list[Item], n: int, seed: int) -> list[Item]:
    """`n` items chosen by hashing their keys with `seed`, kept in queue order."""
    if n < 0:
        raise UsageError(f"--sample {n}: give a number of items, 0 or more")
    if n >= len(items):
        return list(items)

    def rank(item: Item) -> str:
        key = f"{seed}\x00{item.trial_id}\x00{'' if item.grade_idx is None else item.grade_idx}"
        return hashlib.sha256(key.encode()).hexdigest()

    chosen = {id(item) for item in sorted(items, key=rank)[:n]}
    return [item for item in items if id(item) in chosen]


def _any_glob(name: str, patterns: tuple[str, ...]) -> bool:
    """True when no pattern is given, or `name` matches one (like `evalkit run --target`)."""
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _matches(grade: GradeView, name: str) -> bool:
    return name in (grade.grader, grade.metric)


def _unknown_grader(name: str, grades: dict[str, list[GradeView]]) -> UsageError:
    names = sorted({n for gs in grades.values() for g in gs for n in (g.grader, g.metric)})
    listed = ", ".join(names[:20]) or "none: this run has no grades"
    return UsageError(
        f"--grader {name}: no grade in this run has that grader or metric name",
        hint=f"the run's graders and metrics: {listed}",
    )


def _grade_view(row: dict[str, Any]) -> GradeView:
    return GradeView(
        idx=int(row["idx"]),
        grader=str(row["grader"]),
        metric=str(row["metric"]),
        status=str(row["status"]),
        score=row["score"],
        passed=row["passed"],
        reason=row["reason"],
        threshold=row["threshold"],
        reasoning=row["reasoning"],
        judge_model=row["judge_model"],
        flakiness=row["flakiness"],
    )


def _item(row: dict[str, Any], grades: tuple[GradeView, ...]) -> Item:
    context = row.get("context") or []
    if not context:  # like the judges: the case's passages, else what the target reported
        reported = (row.get("metadata") or {}).get("context")
        context = reported if isinstance(reported, list) else [reported] if reported else []
    return Item(
        run_id=str(row["run_id"]),
        trial_id=str(row["trial_id"]),
        case_hash=str(row["case_hash"]),
        grade_idx=None,
        metric=None,
        suite=str(row["suite"]),
        case_id=str(row["case_id"]),
        target=str(row["target_id"]),
        prompt=row["prompt_id"],
        epoch=int(row["epoch"]),
        status=str(row["status"]),
        score=row["score"],
        passed=row["passed"],
        vars=row.get("vars") or {},
        messages=row.get("messages"),
        expected=row.get("expected"),
        output=row.get("output"),
        output_data=row.get("output_data"),
        context=[str(passage) for passage in context],
        error=row.get("error"),
        location=row.get("location"),
        grades=grades,
    )


def _for_grade(trial: Item, grade: GradeView) -> Item:
    return replace(trial, grade_idx=grade.idx, metric=grade.metric)
