"""Settings common to every grader (negation, weight, threshold, metric) and broken graders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evalkit.graders import Score, grader
from evalkit.graders.base import unregister
from evalkit.records import Case, Status, TargetOutput
from tests.graders.grading import grade


@pytest.fixture
def custom_graders() -> Iterator[None]:
    @grader("raises")
    def raises(output: TargetOutput, case: Case, params: Any) -> bool:
        raise KeyError("no such field")

    @grader("out-of-range")
    def out_of_range(output: TargetOutput, case: Case, params: Any) -> float:
        return 1.7

    @grader("wrong-type")
    def wrong_type(output: TargetOutput, case: Case, params: Any) -> Any:
        return "yes"

    @grader("three-quarters")
    async def three_quarters(output: TargetOutput, case: Case, params: Any) -> Score:
        return Score(0.75, reason="most of it")

    @grader("two-of-three")
    def two_of_three(output: TargetOutput, case: Case, params: Any) -> Score:
        return Score(2 / 3, passed=False, reason="not all of it")

    yield
    for name in ("raises", "out-of-range", "wrong-type", "three-quarters", "two-of-three"):
        unregister(name)


async def test_a_grader_that_raises_is_an_error_with_its_exception(custom_graders: None) -> None:
    result = await grade("raises", "x")
    assert (result.status, result.score, result.passed) == (Status.ERROR, None, None)
    assert result.reason == "grader raised KeyError: 'no such field'"


async def test_a_score_outside_zero_one_is_an_error(custom_graders: None) -> None:
    result = await grade("out-of-range", "x")
    assert result.status is Status.ERROR
    assert "1.7" in result.reason and "outside [0, 1]" in result.reason


async def test_a_verdict_of_the_wrong_type_is_an_error(custom_graders: None) -> None:
    assert (await grade("wrong-type", "x")).status is Status.ERROR


async def test_async_grader_float_score_uses_default_and_user_threshold(
    custom_graders: None,
) -> None:
    assert (await grade("three-quarters", "x")).status is Status.PASS  # default cut 0.5
    assert (await grade("three-quarters", "x", threshold=0.8)).status is Status.FAIL
    negated = await grade("three-quarters", "x", negate=True)
    assert negated.score == pytest.approx(0.25)
    assert negated.status is Status.FAIL


async def test_weight_and_metric_are_carried_on_the_grade() -> None:
    result = await grade("contains", "VPN", value="VPN", weight=2.5, metric="mentions-vpn")
    assert (result.weight, result.metric, result.grader) == (2.5, "mentions-vpn", "contains")


async def test_user_threshold_overrides_an_explicit_pass(custom_graders: None) -> None:
    # the grader says fail at 2 of 3; a threshold of 0.5 turns that into a pass
    assert (await grade("two-of-three", "x")).status is Status.FAIL
    result = await grade("two-of-three", "x", threshold=0.5)
    assert result.status is Status.PASS
    # ... except on graders that keep promptfoo's verdict, which ignores `threshold:`
    kept = await grade("contains-all", "a b", value=["a", "b", "c"], threshold=0.5)
    assert (kept.status, kept.threshold) == (Status.FAIL, None)
    assert (await grade("contains", "a b", value="z", threshold=0)).status is Status.FAIL
    negated = await grade("contains-all", "a b", value=["a", "b", "c"], negate=True)
    assert negated.status is Status.PASS
    assert negated.score == pytest.approx(1 / 3)
