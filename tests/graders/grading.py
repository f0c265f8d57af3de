"""Helpers for the grader tests: grade one output with one configured grader."""

from __future__ import annotations

from typing import Any

from evalkit.graders.aggregate import bind_case
from evalkit.records import Case, Grade, GraderConfig, TargetOutput


def make_case(
    *,
    expected: Any = None,
    vars: dict[str, Any] | None = None,
    graders: list[GraderConfig] | None = None,
    threshold: float | None = None,
) -> Case:
    """A case of suite 's' with the given fields."""
    return Case(
        suite="s",
        id="c1",
        vars=vars or {},
        expected=expected,
        graders=graders or [],
        threshold=threshold,
        location="suites/s.yaml:3:5",
    )


async def grade(
    name: str,
    output: TargetOutput | str,
    *,
    value: Any = None,
    expected: Any = None,
    vars: dict[str, Any] | None = None,
    negate: bool = False,
    threshold: float | None = None,
    weight: float = 1.0,
    metric: str | None = None,
    **args: Any,
) -> Grade:
    """Bind `name` to a case the way the engine does and grade `output` with it."""
    config = GraderConfig(
        name=name,
        args=args,
        value=value,
        negate=negate,
        weight=weight,
        threshold=threshold,
        metric=metric,
        location="suites/s.yaml:7:9",
    )
    case = make_case(expected=expected, vars=vars, graders=[config])
    [bound] = bind_case(case)
    if isinstance(output, str):
        output = TargetOutput(text=output)
    return await bound.grade(case, output)
