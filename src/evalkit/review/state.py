"""The review logic, without a terminal: given the queue and one command, what is saved
and where the cursor goes.

`ReviewState.plan(command)` is pure and returns a `Step` (the label to save, if any, and
the next cursor); `apply(step)` moves the state once the label is safely stored. The key
reader and the screen live elsewhere (terminal.py, render.py), so everything a reviewer
can do is testable here with a list of commands.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from evalkit.review.queue import Item, Queue
from evalkit.store.labels import Label

VERDICTS = ("accept", "pass", "fail", "score")
COMMANDS = (*VERDICTS, "note", "undo", "next", "back", "first", "expand", "help", "quit")

# One key (terminal) or one word (a line of piped input) per command.
KEYS: dict[str, str] = {
    "a": "accept",
    "p": "pass",
    "f": "fail",
    "s": "score",
    "n": "note",
    "u": "undo",
    "j": "next",
    " ": "next",
    "right": "next",
    "k": "back",
    "b": "back",
    "left": "back",
    "g": "first",
    "e": "expand",
    "?": "help",
    "h": "help",
    "q": "quit",
}

KEY_HINT = "a=accept p=pass f=fail s=score n=note u=undo j/k=move e=expand q=quit ?=help"
HELP = (
    "a accept the machine's verdict · p pass · f fail · s score 0-1 · n note · "
    "u undo this item's label · j/space/→ next · k/b/← back · g first unlabelled · "
    "e the full text (in a pager) · q quit · ? help"
)


@dataclass(frozen=True, slots=True)
class Command:
    """One reviewer command; `arg` is the score or note text when one is given."""

    name: str
    arg: str | None = None


def parse_line(line: str) -> Command | None:
    """A piped line such as `f`, `s 0.7`, `n needs a source` as a command (None if unknown)."""
    text = line.strip("\r\n")
    head, _, rest = text.strip().partition(" ")
    name = KEYS.get(head.lower()) or (head.lower() if head.lower() in COMMANDS else None)
    if name is None:
        return None
    arg = rest.strip() if name in ("score", "note") and rest.strip() else None
    return Command(name, arg)


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one command: the label to save (if any), then the new state."""

    cursor: int
    label: Label | None = None
    message: str | None = None
    pending_note: str | None = None
    expanded: bool = False
    quit: bool = False


@dataclass(slots=True)
class ReviewState:
    """Where a reviewer is in a queue and what they have said so far."""

    queue: Queue
    reviewer: str
    git_sha: str | None
    relabel: bool = False  # walk every item, not only the unlabelled ones
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    cursor: int = 0
    pending_note: str | None = None
    expanded: bool = False
    message: str | None = None
    saved: int = 0
    _last_at: datetime | None = None

    def __post_init__(self) -> None:
        self.cursor = 0 if self.relabel else self.queue.first_unlabelled()

    @property
    def item(self) -> Item | None:
        """The item under the cursor; None past the last one (the end screen)."""
        items = self.queue.items
        return items[self.cursor] if self.cursor < len(items) else None

    @property
    def current_label(self) -> Label | None:
        """The label in force on the item under the cursor."""
        item = self.item
        return self.queue.labels.get(item.key) if item else None

    def plan(self, command: Command) -> Step:
        """What `command` would save and where it would leave the cursor (changes nothing)."""
        name = command.name
        here = Step(cursor=self.cursor, pending_note=self.pending_note, expanded=self.expanded)
        if name == "quit":
            return replace(here, quit=True)
        if name == "help":
            return replace(here, message=HELP)
        if name == "expand":
            return replace(here, expanded=not self.expanded)
        if name in ("next", "back", "first"):
            return self._move(name)
        item = self.item
        if item is None:
            return replace(here, message="the end of the queue: k goes back, q quits")
        if name == "note":
            return self._note(item, command.arg)
        if name == "undo":
            return self._undo(item)
        return self._verdict(item, name, command.arg)

    def apply(self, step: Step) -> None:
        """Move to the state `step` describes; its label (if any) has been saved."""
        if step.label is not None:
            key = (step.label.trial_id, step.label.grade_idx)
            if step.label.action == "retract":
                self.queue.labels.pop(key, None)
            else:
                self.queue.labels[key] = step.label
            self.saved += 1
        self.cursor = step.cursor
        self.pending_note = step.pending_note
        self.expanded = step.expanded
        self.message = step.message

    def handle(self, command: Command, save: Callable[[Label], None]) -> Step:
        """Plan `command`, save its label (if any) with `save`, then apply it."""
        step = self.plan(command)
        if step.label is not None:
            save(step.label)
        self.apply(step)
        return step

    def _move(self, name: str) -> Step:
        end = len(self.queue.items)
        if name == "next":
            cursor = min(self.cursor + 1, end)
        elif name == "back":
            cursor = max(self.cursor - 1, 0)
        else:
            cursor = self.queue.first_unlabelled()
        if cursor == self.cursor:
            where = {"back": "the first item", "next": "the end of the queue"}.get(
                name, "the first unlabelled item"
            )
            return Step(
                cursor=cursor,
                pending_note=self.pending_note,
                expanded=self.expanded,
                message=f"already at {where}",
            )
        # a pending note belongs to the item it was typed on, never to the next one
        message = "note dropped: a note is saved with a verdict (a, p, f, s)"
        return Step(cursor=cursor, message=message if self.pending_note else None)

    def _note(self, item: Item, text: str | None) -> Step:
        here = Step(cursor=self.cursor, pending_note=self.pending_note, expanded=self.expanded)
        note = (text or "").strip()
        if not note:
            return replace(here, message="no note given: type n, then the note")
        current = self.queue.labels.get(item.key)
        if current is None:
            return replace(
                here, pending_note=note, message="note kept: it is saved with your verdict"
            )
        label = self._label(
            item, current.action, current.passed, current.score, note, current.machine_status
        )
        return replace(here, label=label, pending_note=None, message="note saved")

    def _undo(self, item: Item) -> Step:
        here = Step(cursor=self.cursor, expanded=self.expanded)
        current = self.queue.labels.get(item.key)
        if current is None:
            return replace(here, message="nothing to undo: this item has no label")
        label = self._label(item, "retract", None, None, None, item.machine_status)
        return replace(here, label=label, message="label withdrawn")

    def _verdict(self, item: Item, name: str, arg: str | None) -> Step:
        here = Step(cursor=self.cursor, pending_note=self.pending_note, expanded=self.expanded)
        score: float | None = None
        if name == "accept":
            if item.machine_passed is None:
                return replace(
                    here,
                    message=f"the machine gave no verdict here ({item.machine_status}); "
                    "press p (pass) or f (fail)",
                )
            passed = item.machine_passed
        elif name == "score":
            score, problem = _parse_score(arg)
            if score is None:
                return replace(here, message=problem)
            passed = score >= item.threshold
        else:
            passed = name == "pass"
        action = verdict_action(item, passed, score)
        label = self._label(item, action, passed, score, self.pending_note, item.machine_status)
        verdict = ("pass" if passed else "fail") + ("" if score is None else f" {score:g}")
        return Step(
            cursor=self._after(item),
            label=label,
            message=f"saved: {verdict} ({action}) for {item.trial_id}",
        )

    def _after(self, item: Item) -> int:
        """Where a verdict sends the cursor: the next item (or next unlabelled one)."""
        items = self.queue.items
        if self.relabel:
            return min(self.cursor + 1, len(items))
        for i in range(self.cursor + 1, len(items)):
            if items[i].key not in self.queue.labels:
                return i
        return len(items)

    def _label(
        self,
        item: Item,
        action: str,
        passed: bool | None,
        score: float | None,
        note: str | None,
        machine_status: str | None,
    ) -> Label:
        return Label(
            run_id=item.run_id,
            trial_id=item.trial_id,
            case_hash=item.case_hash,
            grade_idx=item.grade_idx,
            metric=item.metric,
            action=action,
            passed=passed,
            score=score,
            machine_status=machine_status,
            machine_score=item.machine_score,
            note=note,
            reviewer=self.reviewer,
            labelled_at=self._now(),
            git_sha=self.git_sha,
            source="terminal",
        )

    def _now(self) -> datetime:
        # The newest label wins by time: two quick keystrokes must not share an instant.
        now = self.clock()
        if self._last_at is not None and now <= self._last_at:
            now = self._last_at + timedelta(microseconds=1)
        self._last_at = now
        return now


def verdict_action(item: Item, passed: bool, score: float | None) -> str:
    """`accept` when the human says what the machine said, else `override`."""
    if item.machine_passed is None or passed != item.machine_passed:
        return "override"
    if score is None:
        return "accept"
    machine = item.machine_score
    return "accept" if machine is not None and math.isclose(score, machine) else "override"


def _parse_score(arg: str | None) -> tuple[float | None, str]:
    if not arg or not arg.strip():
        return None, "no score given: type s, then a number from 0 to 1"
    try:
        value = float(arg)
    except ValueError:
        return None, f"'{arg}' is not a score: type a number from 0 to 1, e.g. 0.7"
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        return None, f"{arg} is outside 0-1: type a number from 0 to 1, e.g. 0.7"
    return value, ""
