"""Pure: the human verdict on one case of one run, from the labels on its trials, as
`evalkit compare` shows it beside the machine's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HumanVerdict:
    """What reviewers said about one case's trials in one run (labels on whole trials)."""

    passed: bool | None  # None: the labels on its epochs disagree
    labels: int
    reviewers: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def said(self) -> str:
        """pass | fail | mixed."""
        return "mixed" if self.passed is None else "pass" if self.passed else "fail"


def case_name(trial_id: str) -> str:
    """'suite/case@target[prompt]#0' -> 'suite/case@target[prompt]', as compare names cases."""
    return trial_id.rsplit("#", 1)[0]


def human_verdicts(labels: Iterable[tuple[str, bool, str, str | None]]) -> dict[str, HumanVerdict]:
    """Per case name, the verdict from its trials' labels (trial_id, passed, who, note)."""
    found: dict[str, list[tuple[bool, str, str | None]]] = defaultdict(list)
    for trial_id, passed, who, note in labels:
        found[case_name(trial_id)].append((passed, who, note))
    return {
        name: HumanVerdict(
            passed=said.pop() if len(said := {p for p, _, _ in rows}) == 1 else None,
            labels=len(rows),
            reviewers=tuple(sorted({w for _, w, _ in rows})),
            notes=tuple(n for _, _, n in rows if n),
        )
        for name, rows in found.items()
    }
