"""From a case's graders to a result: bind them once per case, grade, and combine.

The combined score is the weighted mean of the pass/fail grades; skipped grades carry
no score, and weight-0 graders are informational. The status is: ERROR if any grade
errored, and then the score is 0 (a grader that could not judge never raises a score,
and an errored trial scores 0 on every screen: evalkit.store.counting); SKIPPED if every
grade was skipped (or there are none); else with `case.threshold` PASS iff the score
reaches it, and otherwise PASS iff every weighted grade passed.
"""

from __future__ import annotations

import asyncio
import inspect
import json

from evalkit.errors import GraderError
from evalkit.graders.base import BoundGrader, bind
from evalkit.records import Case, Grade, GraderConfig, Status, TargetOutput

# What an errored trial scores, wherever a mean is taken (evalkit.store.counting agrees).
ERROR_SCORE = 0.0

# Weighted means such as 0.7 come out as 0.6999999999999998; a threshold of 0.7 must hold.
_EPSILON = 1e-9


def bind_case(case: Case, cache: dict[str, BoundGrader] | None = None) -> list[BoundGrader]:
    """Bind every grader of `case`; bad config raises GraderError naming its location.

    With a `cache`, graders configured alike (suite defaults, above all) are validated
    and compiled once per run instead of once per case.
    """
    bound = []
    for config in case.graders:
        where = f"{config.location} " if config.location else ""
        if config.weight < 0:
            raise GraderError(f"{where}grader '{config.name}': weight {config.weight} is negative")
        key = _config_key(config) if cache is not None else ""
        grader = cache.get(key) if cache is not None else None
        if grader is None:
            grader = bind(config)
            if cache is not None:
                cache[key] = grader
        # A params model may say, knowing the case, why it cannot grade it (no `value:`
        # and no `expected:`): better refused now than an error on every trial.
        check = getattr(grader.params, "check_case", None)
        problem = check(case) if callable(check) else None
        if problem:
            raise GraderError(
                f"{where}grader '{config.name}' {problem}",
                hint=f"case '{case.id}' ({case.location or case.suite})",
            )
        bound.append(grader)
    return bound


def _config_key(config: GraderConfig) -> str:
    """Everything that changes how a grader behaves (not where it was written)."""
    return json.dumps(
        [
            config.name,
            config.value,
            config.args,
            config.negate,
            config.weight,
            config.threshold,
            config.metric,
        ],
        sort_keys=True,
        default=str,
    )


async def grade_output(
    graders: list[BoundGrader], case: Case, output: TargetOutput
) -> tuple[list[Grade], Status, float | None]:
    """Run every grader on one output; return the grades, the status and the combined score."""
    if output.error is not None:
        return [], Status.ERROR, ERROR_SCORE  # nothing was produced: nothing to grade
    grades = await _run(graders, case, output)
    status, score = combine(grades, case.threshold)
    return grades, status, score


async def _run(graders: list[BoundGrader], case: Case, output: TargetOutput) -> list[Grade]:
    waiting = [g for g in graders if inspect.iscoroutinefunction(g.definition.fn)]
    if len(waiting) < 2:
        # Rule graders finish without suspending: awaiting in turn costs no task per grade.
        return [await g.grade(case, output) for g in graders]
    # Several async graders (model judges) wait on the network together.
    done = dict(
        zip(
            map(id, waiting),
            await asyncio.gather(*(g.grade(case, output) for g in waiting)),
            strict=True,
        )
    )
    return [done[id(g)] if id(g) in done else await g.grade(case, output) for g in graders]


def combine(grades: list[Grade], threshold: float | None) -> tuple[Status, float | None]:
    """The status and weighted score of one result from its grades (see the module doc)."""
    if any(grade.status is Status.ERROR for grade in grades):
        return Status.ERROR, ERROR_SCORE
    judged = [grade for grade in grades if grade.status is not Status.SKIPPED]
    if not judged:
        return Status.SKIPPED, None
    score = _weighted_score(judged)
    if threshold is not None and score is not None:
        return (Status.PASS if score >= threshold - _EPSILON else Status.FAIL), score
    passed = all(grade.status is Status.PASS for grade in judged if grade.weight > 0)
    return (Status.PASS if passed else Status.FAIL), score


def _weighted_score(grades: list[Grade]) -> float | None:
    total = 0.0
    weight = 0.0
    for grade in grades:
        if grade.score is not None and grade.status in (Status.PASS, Status.FAIL):
            total += grade.weight * grade.score
            weight += grade.weight
    return total / weight if weight > 0 else None
