"""Pure: the paired cases of a comparison, one CaseChange each, made when read.

A comparison of two 100,000-trial runs pairs 100,000 cases, and most readers want only
the few that moved (the regressions, the fixes) or a count: `CaseChanges` keeps the
paired rows of the CaseTable and builds a CaseChange only for the ones asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from evalkit.analysis.case_table import CaseTable


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
        return case_name(self.suite, self.case_id, self.target_id, self.prompt_id)


class CaseChanges(Sequence[CaseChange]):
    """The paired cases of a comparison, in case order: a read-only sequence."""

    __slots__ = ("_base_rate", "_base_score", "_cand_rate", "_cand_score", "_rows", "_table")

    def __init__(self, table: CaseTable, rows: npt.NDArray[np.intp]) -> None:
        self._table = table
        self._rows = rows
        base, cand = table.base, table.candidate
        self._base_rate = base.passed[rows] / base.trials[rows]
        self._cand_rate = cand.passed[rows] / cand.trials[rows]
        self._base_score = base.score_sum[rows] / base.trials[rows]
        self._cand_score = cand.score_sum[rows] / cand.trials[rows]

    def __len__(self) -> int:
        return int(self._rows.size)

    @overload
    def __getitem__(self, index: int) -> CaseChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[CaseChange]: ...

    def __getitem__(self, index: int | slice) -> CaseChange | list[CaseChange]:
        if isinstance(index, slice):
            return [self._change(i) for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError("case change index out of range")
        return self._change(index % len(self))

    def __iter__(self) -> Iterator[CaseChange]:
        return (self._change(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CaseChanges | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so not hashable

    def __repr__(self) -> str:
        return repr(list(self))

    def regressed(self) -> CaseChanges:
        """The cases whose share of passing epochs fell (built when read, too)."""
        return CaseChanges(self._table, self._rows[self._cand_rate < self._base_rate])

    def fixed(self) -> CaseChanges:
        """The cases whose share of passing epochs rose (built when read, too)."""
        return CaseChanges(self._table, self._rows[self._cand_rate > self._base_rate])

    def _change(self, i: int) -> CaseChange:
        suite, case_id, target, prompt = self._table.key(int(self._rows[i]))
        return CaseChange(
            suite=suite,
            case_id=case_id,
            target_id=target,
            prompt_id=prompt,
            base_score=float(self._base_score[i]),
            candidate_score=float(self._cand_score[i]),
            base_pass_rate=float(self._base_rate[i]),
            candidate_pass_rate=float(self._cand_rate[i]),
        )


def case_name(suite: str, case_id: str, target_id: str, prompt_id: str | None) -> str:
    """suite/case@target[prompt], as trial ids read."""
    target = f"{target_id}[{prompt_id}]" if prompt_id else target_id
    return f"{suite}/{case_id}@{target}"
