"""Edit-distance graders: levenshtein (threshold is a max distance) and similarity."""

from __future__ import annotations

import pytest

from evalkit.errors import GraderError
from evalkit.records import Status
from tests.graders.grading import grade


async def test_levenshtein_threshold_is_a_maximum_distance() -> None:
    close = await grade("levenshtein", "kitten", value="sitting", threshold=3)
    assert close.status is Status.PASS
    assert close.reason == "edit distance 3 (max 3) from 'sitting'"
    assert close.score == pytest.approx(1 - 3 / 7)
    # recorded thresholds are score cuts; this one is a distance, so it goes in metadata
    assert close.threshold is None
    assert close.metadata == {"distance": 3, "max_distance": 3}
    assert not (await grade("levenshtein", "kitten", value="sitting", threshold=2)).passed


async def test_levenshtein_default_max_distance_is_five() -> None:
    assert (await grade("levenshtein", "abcdefghij", value="abcde")).passed
    assert not (await grade("levenshtein", "abcdefghijk", value="abcde")).passed


async def test_levenshtein_negation_and_expected() -> None:
    negated = await grade("levenshtein", "same", expected="same", negate=True)
    assert (negated.status, negated.metric) == (Status.FAIL, "not-levenshtein")


async def test_levenshtein_counts_code_points() -> None:
    assert (await grade("levenshtein", "naïve café", value="naive cafe", threshold=2)).passed


async def test_levenshtein_negative_threshold_fails_at_bind() -> None:
    with pytest.raises(GraderError, match="negative"):
        await grade("levenshtein", "x", value="y", threshold=-1)


async def test_similarity_default_threshold_and_user_threshold() -> None:
    near = await grade("similarity", "The cat sat on the mat", value="The cat sat on a mat")
    assert near.status is Status.PASS
    assert near.score is not None and 0.8 <= near.score < 1.0
    strict = await grade(
        "similarity", "The cat sat on the mat", value="The cat sat on a mat", threshold=0.99
    )
    assert strict.status is Status.FAIL
    far = await grade("similarity", "completely different", value="The cat sat")
    assert far.status is Status.FAIL
    assert far.reason.startswith("similarity 0.")


async def test_similarity_ignore_case() -> None:
    assert (
        await grade("similarity", "HELLO WORLD", value="hello world", ignore_case=True)
    ).score == 1.0
    assert (await grade("similarity", "HELLO WORLD", value="hello world")).status is Status.FAIL
