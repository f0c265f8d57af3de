"""Pure: a loaded plan and the user's selection -> the trials to run, as a stream.

A plan of cases x targets x epochs is never held in memory as a list: `TrialPlan` knows
its size by arithmetic and makes each Trial when it is asked for, so `epochs: 1000` on a
large suite costs the memory of its cases, not of its trials (DESIGN convention 14).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field

from evalkit.errors import UsageError
from evalkit.records import Case, Trial
from evalkit.workspace.loaded import LoadedPlan

# Trials one run may plan: far past any real run (a run of a million trials takes hours),
# and far below what the store's trial counts hold (2**31 - 1). A plan of 10**11 trials
# was recorded, then failed on that count.
MAX_TRIALS = 100_000_000


@dataclass(frozen=True, slots=True)
class Selection:
    """What the user asked to run (CLI flags); empty means everything."""

    filters: tuple[str, ...] = ()  # globs over "suite/case_id" or "case_id"
    tags: tuple[str, ...] = ()  # a case runs if it has any of these tags
    targets: tuple[str, ...] = ()  # target ids (globs)
    limit: int | None = None  # at most this many cases per suite
    epochs: int | None = None  # overrides the plan's epochs
    trial_ids: frozenset[str] | None = None  # only these trials (`run --failed`)


def trial_id(case: Case, target_id: str, prompt_id: str | None, epoch: int) -> str:
    """The stable, human-readable identity of a trial."""
    variant = f"[{prompt_id}]" if prompt_id else ""
    return f"{case.suite}/{case.id}@{target_id}{variant}#{epoch}"


def select_cases(plan: LoadedPlan, selection: Selection) -> list[Case]:
    """The plan's cases that pass the filters, tags and per-suite limit, in file order."""
    chosen: list[Case] = []
    for suite in plan.suites:
        taken = 0
        for case in suite.cases:
            if selection.limit is not None and taken >= selection.limit:
                break
            if selection.filters and not _matches_filter(case, selection.filters):
                continue
            if selection.tags and not set(selection.tags) & set(case.tags):
                continue
            chosen.append(case)
            taken += 1
    return chosen


def select_targets(
    variants: list[tuple[str, str | None]], patterns: tuple[str, ...]
) -> list[tuple[str, str | None]]:
    """Keep the (target id, prompt id) variants whose id matches any pattern."""
    if not patterns:
        return variants
    kept = [v for v in variants if any(_target_matches(v, p) for p in patterns)]
    if not kept:
        known = ", ".join(sorted({t for t, _ in variants}))
        raise UsageError(f"--target {', '.join(patterns)} matches no target (plan has: {known})")
    return kept


@dataclass(frozen=True, slots=True)
class TrialPlan:
    """The selected cases x target variants x epochs, made one trial at a time.

    Trials come epoch-major, then case, then target, so an interrupted run has covered
    every case once before it starts repeating any. `done` holds trial ids already
    saved (a resumed run): they are left out. `only`, when set, keeps just those trial
    ids (`evalkit run --failed`).
    """

    cases: list[Case]
    variants: list[tuple[str, str | None]]
    epochs: int
    done: frozenset[str] = field(default_factory=frozenset)
    only: frozenset[str] | None = None

    @property
    def total(self) -> int:
        """Every trial of the plan, saved ones included."""
        return self.epochs * len(self.cases) * len(self.variants)

    def __len__(self) -> int:
        if self.only is not None:  # a rerun of chosen trials: few, so counted one by one
            return sum(1 for _ in self)
        return self.total - len(self.done)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[Trial]:
        return self._trials(self.variants)

    def for_target(self, target_id: str) -> Iterator[Trial]:
        """This target's trials (all its prompt variants), in plan order."""
        return self._trials([v for v in self.variants if v[0] == target_id])

    def target_ids(self) -> list[str]:
        """The targets with trials in this plan, in plan order."""
        return list(dict.fromkeys(target for target, _ in self.variants))

    def remaining(self, done: set[str]) -> TrialPlan:
        """The same plan without the trials in `done` (saved by an earlier attempt)."""
        return dataclasses.replace(self, done=frozenset(done) | self.done)

    def _trials(self, variants: list[tuple[str, str | None]]) -> Iterator[Trial]:
        for epoch in range(self.epochs):
            for case in self.cases:
                for target, prompt in variants:
                    tid = trial_id(case, target, prompt, epoch)
                    if tid not in self.done and (self.only is None or tid in self.only):
                        yield Trial(tid, case, target, prompt, epoch)


def expand(
    plan: LoadedPlan, variants: list[tuple[str, str | None]], selection: Selection
) -> TrialPlan:
    """Cross the selected cases with target variants and epochs (see TrialPlan)."""
    epochs = selection.epochs if selection.epochs is not None else plan.spec.epochs
    if epochs < 1:
        raise UsageError(f"epochs must be at least 1 (got {epochs})")
    cases = select_cases(plan, selection)
    chosen = select_targets(variants, selection.targets)
    only = frozenset(selection.trial_ids) if selection.trial_ids is not None else None
    too_many = too_many_trials(len(cases), len(chosen), epochs)
    if too_many:
        raise UsageError(
            too_many, hint="narrow it with --filter, --tag, --target or --limit, or fewer epochs"
        )
    return TrialPlan(cases, chosen, epochs, only=only)


def too_many_trials(cases: int, variants: int, epochs: int) -> str | None:
    """Why a plan of these counts is more than a run takes, or None when it is not."""
    planned = cases * variants * epochs
    if planned <= MAX_TRIALS:
        return None
    return (
        f"the plan makes {planned:,} trials ({cases:,} cases x {variants:,} target "
        f"variants x {epochs:,} epochs); a run takes at most {MAX_TRIALS:,}"
    )


def _matches_filter(case: Case, patterns: tuple[str, ...]) -> bool:
    full = f"{case.suite}/{case.id}"
    return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(case.id, p) for p in patterns)


def _target_matches(variant: tuple[str, str | None], pattern: str) -> bool:
    target, prompt = variant
    names = [target] + ([f"{target}[{prompt}]"] if prompt else [])
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)
