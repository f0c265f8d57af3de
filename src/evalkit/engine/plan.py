"""Pure: a loaded plan and the user's selection -> the list of trials to run."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from evalkit.errors import UsageError
from evalkit.records import Case, Trial
from evalkit.workspace.loaded import LoadedPlan


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


def expand(
    plan: LoadedPlan, variants: list[tuple[str, str | None]], selection: Selection
) -> list[Trial]:
    """Cross the selected cases with target variants and epochs.

    Trials are ordered epoch-major, then case, then target, so an interrupted run has
    covered every case once before it starts repeating any.
    """
    epochs = selection.epochs if selection.epochs is not None else plan.spec.epochs
    if epochs < 1:
        raise UsageError(f"epochs must be at least 1 (got {epochs})")
    cases = select_cases(plan, selection)
    chosen = select_targets(variants, selection.targets)
    trials = [
        Trial(trial_id(case, target, prompt, epoch), case, target, prompt, epoch)
        for epoch in range(epochs)
        for case in cases
        for target, prompt in chosen
    ]
    if selection.trial_ids is not None:
        trials = [t for t in trials if t.trial_id in selection.trial_ids]
    return trials


def _matches_filter(case: Case, patterns: tuple[str, ...]) -> bool:
    full = f"{case.suite}/{case.id}"
    return any(fnmatch.fnmatchcase(full, p) or fnmatch.fnmatchcase(case.id, p) for p in patterns)


def _target_matches(variant: tuple[str, str | None], pattern: str) -> bool:
    target, prompt = variant
    names = [target] + ([f"{target}[{prompt}]"] if prompt else [])
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)
