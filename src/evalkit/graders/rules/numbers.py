"""Numeric rule graders: numeric (a number in the answer), latency and cost budgets."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import PrivateAttr, model_validator

from evalkit.graders.base import Score, Skip, grader
from evalkit.graders.rules._common import Compared, NotJson, Number, Params, clip, json_of
from evalkit.graders.rules._jsonpath import PathMissing, Step, parse_path, walk
from evalkit.records import Case, TargetOutput

# "1,234.5", "-3", "2.5e-3", ".5"; thousands separators only in groups of three.
_NUMBER = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
)


def read_number(value: Any) -> float | None:
    """A JSON number, or a string that is exactly one number; None otherwise."""
    if isinstance(value, bool):
        return None  # true is not 1 here
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip().replace(",", ""))
    return None


class NumericParams(Compared):
    """`value` (else expected): the number; `abs_tol` / `rel_tol` as in math.isclose.

    The number is read at `path` in the output's JSON when given, else it is the
    `pick` (last by default, where answers usually conclude) number in the text.
    """

    value: Number | str | None = None
    path: str | None = None
    abs_tol: Number = 0.0
    rel_tol: Number = 1e-9
    pick: Literal["first", "last"] = "last"
    _steps: tuple[Step, ...] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _prepare(self) -> NumericParams:
        if self.abs_tol < 0 or self.rel_tol < 0:
            raise ValueError("`abs_tol` and `rel_tol` may not be negative")
        if (
            isinstance(self.value, str)
            and "{{" not in self.value
            and read_number(self.value) is None
        ):
            raise ValueError(f"`value` {self.value!r} is not a number")
        if self.path is not None:
            self._steps = parse_path(self.path)
        return self


def _found_number(output: TargetOutput, params: NumericParams) -> tuple[float | None, str]:
    """The number in the output and where it came from; None with the reason when there is none."""
    if params._steps is not None:
        try:
            raw = walk(json_of(output), params._steps)
        except (NotJson, PathMissing) as exc:
            return None, f"{params.path}: {exc}"
        number = read_number(raw)
        return number, f"{params.path} = {clip(raw)}" + (
            "" if number is not None else ", not a number"
        )
    if output.text is None and output.data is not None:
        number = read_number(output.data)
        return number, f"structured output {clip(output.data)}"
    text = output.text or ""
    matches = _NUMBER.findall(text)
    if not matches:
        return None, f"no number in output: {clip(text)}"
    chosen = matches[-1] if params.pick == "last" else matches[0]
    where = f"{params.pick} of {len(matches)} numbers" if len(matches) > 1 else "the only number"
    return float(chosen.replace(",", "")), f"found {chosen} ({where})"


@grader("numeric", params=NumericParams)
def numeric(output: TargetOutput, case: Case, params: NumericParams) -> Score:
    """The number in the output (or at `path`) is `value` (else expected) within tolerance."""
    expected = read_number(params.target_value(case))
    if expected is None:
        raise ValueError(f"expected value {clip(params.target_value(case))} is not a number")
    number, found = _found_number(output, params)
    if number is None:
        return Score(0.0, reason=found)
    tolerance = f"abs_tol {params.abs_tol:g}, rel_tol {params.rel_tol:g}"
    if math.isclose(number, expected, rel_tol=params.rel_tol, abs_tol=params.abs_tol):
        return Score(1.0, reason=f"{found}; expected {expected:g} ({tolerance})")
    off = abs(number - expected)
    return Score(0.0, reason=f"{found}; expected {expected:g}, off by {off:g} ({tolerance})")


class LatencyParams(Params):
    """`max_ms` (also `value:`): the slowest acceptable response, in milliseconds."""

    max_ms: Number


@grader("latency", params=LatencyParams, value_field="max_ms")
def latency(output: TargetOutput, case: Case, params: LatencyParams) -> Score | Skip:
    """The target answered within `max_ms`; skipped for cached outputs (no real latency)."""
    if output.cached:
        return Skip("cached output: its latency was not measured on this run")
    took = output.latency_ms
    passed = took <= params.max_ms
    return Score(
        1.0 if passed else 0.0,
        reason=f"took {took:.0f} ms (max {params.max_ms:g} ms)",
        metadata={"latency_ms": took},
    )


class CostParams(Params):
    """`max_usd` (also `value:`): the most a single answer may cost, in US dollars."""

    max_usd: Number


@grader("cost", params=CostParams, value_field="max_usd")
def cost(output: TargetOutput, case: Case, params: CostParams) -> Score | Skip:
    """The answer cost at most `max_usd`; skipped when the cost is unknown or it was cached."""
    if output.cached:
        return Skip("cached output: nothing was spent on it this run")
    if output.cost_usd is None:
        return Skip("the target reported no cost (no pricing for its model?)")
    passed = output.cost_usd <= params.max_usd
    return Score(
        1.0 if passed else 0.0,
        reason=f"cost ${output.cost_usd:.6f} (max ${params.max_usd:g})",
        metadata={"cost_usd": output.cost_usd},
    )
