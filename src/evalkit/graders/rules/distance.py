"""Edit-distance rule graders: levenshtein (promptfoo's) and similarity."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import StrictBool, model_validator

from evalkit.graders.base import Invalid, Score, grader
from evalkit.graders.rules._common import Compared, Number, clip, text_of
from evalkit.graders.rules._js import output_string, utf16
from evalkit.records import Case, TargetOutput


@functools.cache
def _levenshtein() -> Any:
    # Imported on first use: rapidfuzz takes ~0.1 s to import, which every CLI start would pay.
    from rapidfuzz.distance import Levenshtein

    return Levenshtein


class LevenshteinParams(Compared):
    """`value` (else expected); `threshold`: the largest edit distance that passes (default 5).

    Options: `strip` the output's surrounding whitespace first; `unit: chars` counts
    code points instead of promptfoo's UTF-16 code units (an emoji is one edit, not two).
    """

    threshold: Number = 5
    strip: StrictBool = False
    unit: Literal["utf16", "chars"] = "utf16"

    @model_validator(mode="after")
    def _check_threshold(self) -> LevenshteinParams:
        if self.threshold < 0:
            raise ValueError(f"threshold is a maximum edit distance; {self.threshold} is negative")
        return self


# promptfoo's `threshold:` for levenshtein is a maximum distance, not a score cut, so
# base.py hands it to the params (threshold_field) and the grader decides pass/fail.
@grader("levenshtein", params=LevenshteinParams, threshold_field="threshold")
def levenshtein(output: TargetOutput, case: Case, params: LevenshteinParams) -> Score | Invalid:
    """Edit distance from `value` (else expected) is at most `threshold` (default 5).

    As in promptfoo, the distance is counted in UTF-16 code units on the output as it
    is. The score is the normalized similarity 1 - distance / longer length.
    """
    expected = params.target_value(case)
    if not isinstance(expected, str):
        return Invalid(f"levenshtein: the value must be a string, got {clip(expected)}")
    text = output_string(output)
    if params.strip:
        text = text.strip()
    if params.unit == "utf16":
        text, expected = utf16(text), utf16(expected)
    metric = _levenshtein()
    distance = metric.distance(text, expected)
    passed = distance <= params.threshold
    return Score(
        float(metric.normalized_similarity(text, expected)),
        passed=passed,
        reason=f"edit distance {distance} (max {params.threshold:g}) from {clip(expected)}",
        metadata={"distance": distance, "max_distance": params.threshold},
    )


class SimilarityParams(Compared):
    """`value` (else expected); `ignore_case`. Pass at the grader `threshold:` (default 0.8)."""

    value: str | None = None
    ignore_case: StrictBool = False


@grader("similarity", params=SimilarityParams, default_threshold=0.8)
def similarity(output: TargetOutput, case: Case, params: SimilarityParams) -> Score:
    """Normalized edit-distance similarity to `value` (else expected); passes at 0.8 by default."""
    expected = str(params.target_value(case))
    text = text_of(output).strip()
    if params.ignore_case:
        text, expected = text.casefold(), expected.casefold()
    ratio = float(_levenshtein().normalized_similarity(text, expected))
    return Score(ratio, reason=f"similarity {ratio:.2f} to {clip(expected)}")
