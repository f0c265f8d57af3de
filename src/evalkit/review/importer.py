"""A filled review sheet back into labels: every row checked, then all saved or none.

A row's identity (run, trial, case hash, grade) must still match the database, so a
label can never land on a different trial than the one the reviewer read. Only the
reviewer's columns (`verdict`, `score`, `note`) become the label: the other cells are
for reading, and a cell cut to fit the sheet never flows back. Importing the same sheet
twice adds nothing, because a row whose verdict is already in force is left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb

from evalkit.errors import ConfigError
from evalkit.review.queue import Item, Queue, QueueFilter, load_queue
from evalkit.review.spreadsheet import VERDICTS, SheetRow, read_sheet, sheet_format
from evalkit.review.state import verdict_action
from evalkit.store.labels import Label
from evalkit.store.review_rows import known_runs

REQUIRED = ("run_id", "trial_id", "verdict")
MAX_PROBLEMS_SHOWN = 20


@dataclass(slots=True)
class ImportPlan:
    """What importing a sheet will do: the labels to append and the rows left alone."""

    labels: list[Label] = field(default_factory=list)
    unchanged: int = 0  # the verdict in the sheet is already the one in force
    blank: int = 0  # rows with no verdict, score or note: not reviewed


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who imports, when, and from which commit: every label of the import carries it."""

    reviewer: str
    at: datetime
    git_sha: str | None


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []

    def add(self, row: int, column: str, message: str) -> None:
        self.lines.append(f"{self.path}:row {row} column {column}: {message}")

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        shown = self.lines[:MAX_PROBLEMS_SHOWN]
        more = len(self.lines) - len(shown)
        if more:
            shown.append(f"... and {more} more problem(s)")
        raise ConfigError(
            "\n".join(shown),
            hint="fix these cells (verdict: pass, fail, accept, retract or blank; "
            "score: 0 to 1) and import again; nothing was saved",
        )


def plan_import(con: duckdb.DuckDBPyConnection, path: Path, stamp: Stamp) -> ImportPlan:
    """Check every row of the sheet at `path` and work out the labels it adds."""
    source = sheet_format(path)
    header, rows = read_sheet(path)
    problems = _Problems(path)
    missing = [name for name in REQUIRED if name not in header]
    for name in missing:
        problems.add(1, name, "missing column; keep the header row that --export wrote")
    problems.raise_if_any()
    queues = _queues(con, rows, problems)
    trials = {run_id: {i.trial_id: i for i in q.items} for run_id, q in queues.items()}
    plan = ImportPlan()
    seen: dict[tuple[str, str, int | None], int] = {}
    for row in rows:
        cells = row.cells
        verdict = cells.get("verdict", "").strip().lower()
        score_text = cells.get("score", "").strip()
        note = cells.get("note", "").strip() or None
        if not verdict and not score_text and note is None:
            plan.blank += 1
            continue
        item = _item(row, trials, problems)
        if item is None:
            continue
        key = (item.run_id, item.trial_id, item.grade_idx)
        if key in seen:
            problems.add(row.number, "trial_id", f"the same item as row {seen[key]}; keep one")
            continue
        seen[key] = row.number
        current = queues[item.run_id].labels.get(item.key)
        decision = _decide(row, item, current, verdict, score_text, note, problems)
        if decision is None:
            continue
        label = Label(
            run_id=item.run_id,
            trial_id=item.trial_id,
            case_hash=item.case_hash,
            grade_idx=item.grade_idx,
            metric=item.metric,
            action=decision.action,
            passed=decision.passed,
            score=decision.score,
            machine_status=item.machine_status,
            machine_score=item.machine_score,
            note=None if decision.action == "retract" else note,
            reviewer=stamp.reviewer,
            labelled_at=stamp.at,
            git_sha=stamp.git_sha,
            source=source,
        )
        if _already_in_force(label, current):
            plan.unchanged += 1
        else:
            plan.labels.append(label)
    problems.raise_if_any()
    return plan


def _queues(
    con: duckdb.DuckDBPyConnection, rows: list[SheetRow], problems: _Problems
) -> dict[str, Queue]:
    """Each run the sheet names, with every trial and the labels in force."""
    named = sorted({row.cells.get("run_id", "").strip() for row in rows} - {""})
    recorded = known_runs(con, named)
    queues = {run_id: load_queue(con, run_id, QueueFilter()) for run_id in recorded}
    for row in rows:
        run_id = row.cells.get("run_id", "").strip()
        if run_id not in recorded and _has_verdict(row):
            what = f"no run '{run_id}' in this database" if run_id else "no run id"
            problems.add(row.number, "run_id", f"{what}; import into the database it came from")
    return queues


def _has_verdict(row: SheetRow) -> bool:
    return any(row.cells.get(name, "").strip() for name in ("verdict", "score", "note"))


def _item(row: SheetRow, trials: dict[str, dict[str, Item]], problems: _Problems) -> Item | None:
    """The queue item a row is about, checked against what the database holds."""
    cells = row.cells
    run_id = cells.get("run_id", "").strip()
    if run_id not in trials:
        return None  # already reported by _queues
    trial_id = cells.get("trial_id", "").strip()
    trial = trials[run_id].get(trial_id)
    if trial is None:
        problems.add(row.number, "trial_id", f"no trial '{trial_id}' in run {run_id}")
        return None
    case_hash = cells.get("case_hash", "").strip()
    if case_hash and case_hash != trial.case_hash:
        problems.add(
            row.number,
            "case_hash",
            f"the case of {trial_id} is {trial.case_hash} in the database, not {case_hash}: "
            "this row was reviewed against a different case; export the queue again",
        )
        return None
    idx_text = cells.get("grade_idx", "").strip()
    if not idx_text:
        return trial
    try:
        idx = int(idx_text)
    except ValueError:
        problems.add(row.number, "grade_idx", f"'{idx_text}' is not a grade position")
        return None
    grade = next((g for g in trial.grades if g.idx == idx), None)
    metric = cells.get("metric", "").strip()
    if grade is None:
        problems.add(row.number, "grade_idx", f"{trial_id} has no grade {idx}")
        return None
    if metric and metric != grade.metric:
        problems.add(
            row.number, "metric", f"grade {idx} of {trial_id} is '{grade.metric}', not '{metric}'"
        )
        return None
    return replace(trial, grade_idx=idx, metric=grade.metric)


@dataclass(frozen=True, slots=True)
class _Decision:
    action: str
    passed: bool | None
    score: float | None


def _decide(
    row: SheetRow,
    item: Item,
    current: Label | None,
    verdict: str,
    score_text: str,
    note: str | None,
    problems: _Problems,
) -> _Decision | None:
    """What a row says about its item, or None (with the problem recorded)."""
    if verdict and verdict not in VERDICTS:
        problems.add(
            row.number,
            "verdict",
            f"'{verdict}' is not a verdict: use pass, fail, accept or retract "
            "(blank: not reviewed)",
        )
        return None
    score = _score(row, score_text, problems)
    if score_text and score is None:
        return None
    if verdict == "retract":
        return _Decision("retract", None, None)
    if verdict == "accept":
        if item.machine_passed is None:
            problems.add(
                row.number,
                "verdict",
                f"the machine gave no verdict on {item.trial_id} ({item.machine_status}) to "
                "accept; write pass or fail",
            )
            return None
        if score is not None:
            problems.add(row.number, "score", "accept keeps the machine's score; clear the score")
            return None
        passed = item.machine_passed
    elif verdict in ("pass", "fail"):
        passed = verdict == "pass"
    elif score is not None:
        passed = score >= item.threshold
    elif current is not None and note is not None:  # a note alone amends the verdict in force
        return _Decision(current.action, current.passed, current.score)
    else:
        problems.add(row.number, "verdict", "a note needs a verdict: pass, fail or accept")
        return None
    return _Decision(verdict_action(item, passed, score), passed, score)


def _score(row: SheetRow, text: str, problems: _Problems) -> float | None:
    if not text:
        return None
    try:
        value = float(text.replace(",", ".") if text.count(",") == 1 else text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        problems.add(row.number, "score", f"'{text}' is not a score from 0 to 1")
        return None
    return value


def _already_in_force(label: Label, current: Label | None) -> bool:
    """Whether appending `label` would change nothing a reader of `human_labels` sees."""
    if label.action == "retract":
        return current is None
    if current is None:
        return False
    same_score = (label.score is None and current.score is None) or (
        label.score is not None
        and current.score is not None
        and math.isclose(label.score, current.score)
    )
    same_note = label.note is None or label.note == current.note
    return (
        label.passed == current.passed
        and label.action == current.action
        and same_score
        and same_note
    )
