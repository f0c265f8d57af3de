"""Edit-distance rule graders: levenshtein (promptfoo's) and similarity."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import StrictBool, model_validator

from evalkit.graders.base import Score, grader
from evalkit.graders.rules._common import Compared, Number, clip, text_of
from evalkit.records import Case, TargetOutput


@functools.cache
def _levenshtein() -> Any:
    # Imported on first use: rapidfuzz takes ~0.1 s to import, which every CLI start would pay.
    from rapidfuzz.distance import Levenshtein

    return Levenshtein


class LevenshteinParams(Compared):
    """`value` (else expected); `threshold`: the largest edit distance that passes (default 5)."""

    value: str | None = None
    threshold: Number = 5

    @model_validator(mode="after")
    def _check_threshold(self) -> LevenshteinParams:
        if self.threshold < 0:
            raise ValueError(f"threshold is a maximum edit distance; {self.threshold} is negative")
        return self


# promptfoo's `threshold:` for levenshtein is a maximum distance, not a score cut, so
# base.py hands it to the params (threshold_field) and the grader decides pass/fail.
@grader("levenshtein", params=LevenshteinParams, threshold_field="threshold")
def levenshtein(output: TargetOutput, case: Case, params: LevenshteinParams) -> Score:
    """Edit distance from `value` (else expected) is at most `threshold` (default 5).

    The score is the normalized similarity 1 - distance / longer length, as in `similarity`;
    the output's surrounding whitespace is ignored.
    """
    expected = str(params.target_value(case))
    text = text_of(output).strip()
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
