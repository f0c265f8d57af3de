"""word-count, as promptfoo counts words: JavaScript whitespace runs split them."""

from __future__ import annotations

import math
from typing import Any

from evalkit.graders.base import Invalid, Score, grader
from evalkit.graders.rules import _js
from evalkit.graders.rules._common import Compared, clip
from evalkit.records import Case, TargetOutput


class WordCountParams(Compared):
    """`value` (else expected): an exact count (a number or numeric string), or a
    mapping with `min` and/or `max` (inclusive)."""


def _bound(value: Any) -> float | None:
    return None if value is None else _js.to_number(value)


def _judge(count: int, value: Any) -> tuple[bool, str] | str:
    """(passed, what was expected), or why the value is unusable."""
    if isinstance(value, dict):
        low, high = _bound(value.get("min")), _bound(value.get("max"))
        if low is None and high is None:
            return "a word-count mapping needs `min` and/or `max`"
        if low is not None and high is not None:
            if low > high:
                return (
                    f"min ({clip(value.get('min'))}) is greater than max ({clip(value.get('max'))})"
                )
            return low <= count <= high, f"between {_js.to_string(low)} and {_js.to_string(high)}"
        if low is None:
            assert high is not None
            return count <= high, f"at most {_js.to_string(high)}"
        return count >= low, f"at least {_js.to_string(low)}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "the value must be a number or a mapping with min/max"
    wanted = _js.to_number(value)
    if math.isnan(wanted):
        return "the value must be a number or a mapping with min/max"
    return count == wanted, f"exactly {_js.to_string(wanted)}"


@grader("word-count", params=WordCountParams, uses_threshold=False)
def word_count(output: TargetOutput, case: Case, params: WordCountParams) -> Score | Invalid:
    """The output's word count (split on JavaScript whitespace) equals `value`, or lies
    within its `min`..`max`."""
    value = params.target_value(case)
    if value is None:
        return Invalid("word-count: needs a value")
    count = len(_js.words(_js.output_string(output)))
    judged = _judge(count, value)
    if isinstance(judged, str):
        return Invalid(f"word-count: {judged}, got {clip(value)}")
    passed, wanted = judged
    return Score(1.0 if passed else 0.0, reason=f"{count} words (expected {wanted})")
