"""Combining a result's grades into its status and score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evalkit.errors import GraderError
from evalkit.graders import Skip, bind_case, grade_output, grader
from evalkit.graders.base import unregister
from evalkit.records import (
    Case,
    ErrorKind,
    GraderConfig,
    Status,
    TargetFailure,
    TargetOutput,
)
from tests.graders.grading import make_case


@pytest.fixture(autouse=True)
def helpers() -> Iterator[None]:
    @grader("always-skip")
    def always_skip(output: TargetOutput, case: Case, params: Any) -> Skip:
        return Skip("no judge key")

    @grader("boom")
    def boom(output: TargetOutput, case: Case, params: Any) -> bool:
        raise RuntimeError("broken grader")

    yield
    unregister("always-skip")
    unregister("boom")


def contains(word: str, **settings: Any) -> GraderConfig:
    return GraderConfig(name="contains", value=word, **settings)


async def run(
    configs: list[GraderConfig], text: str = "alpha beta", threshold: float | None = None
) -> tuple[Any, Status, float | None]:
    case = make_case(graders=configs, threshold=threshold)
    return await grade_output(bind_case(case), case, TargetOutput(text=text))


async def test_target_error_means_no_grades_and_status_error() -> None:
    case = make_case(graders=[contains("alpha")])
    failed = TargetOutput(error=TargetFailure(ErrorKind.TIMEOUT, "no answer"))
    assert await grade_output(bind_case(case), case, failed) == ([], Status.ERROR, 0.0)


async def test_all_pass_and_one_fail() -> None:
    grades, status, score = await run([contains("alpha"), contains("beta")])
    assert (status, score, len(grades)) == (Status.PASS, 1.0, 2)
    _, status, score = await run([contains("alpha"), contains("gamma")])
    assert (status, score) == (Status.FAIL, 0.5)


async def test_score_is_the_weighted_mean() -> None:
    _, status, score = await run([contains("alpha", weight=3.0), contains("gamma", weight=1.0)])
    assert status is Status.FAIL
    assert score == pytest.approx(0.75)


async def test_weight_zero_is_informational() -> None:
    _, status, score = await run([contains("alpha"), contains("gamma", weight=0.0)])
    assert (status, score) == (Status.PASS, 1.0)


async def test_case_threshold_decides_on_the_score() -> None:
    configs = [contains("alpha"), contains("beta"), contains("gamma")]
    _, status, score = await run(configs, threshold=0.6)
    assert status is Status.PASS
    assert score == pytest.approx(2 / 3)
    _, status, _ = await run(configs, threshold=0.7)
    assert status is Status.FAIL


async def test_threshold_equal_to_a_float_mean_passes() -> None:
    # 0.7 as a weighted mean is 0.69999999999999996; the case must still pass at 0.7
    configs = [contains("alpha", weight=0.7), contains("gamma", weight=0.3)]
    _, status, score = await run(configs, threshold=0.7)
    assert status is Status.PASS
    assert score == pytest.approx(0.7)


async def test_an_erroring_grader_makes_the_result_an_error() -> None:
    grades, status, score = await run([contains("alpha"), GraderConfig(name="boom")])
    assert status is Status.ERROR
    assert score == 0.0  # a grader that could not judge never raises a score
    assert grades[1].reason == "grader raised RuntimeError: broken grader"


async def test_skipped_grades_are_left_out() -> None:
    _, status, score = await run([GraderConfig(name="always-skip"), contains("gamma")])
    assert (status, score) == (Status.FAIL, 0.0)
    _, status, score = await run([GraderConfig(name="always-skip"), contains("alpha")])
    assert (status, score) == (Status.PASS, 1.0)


async def test_all_skipped_or_no_graders_is_skipped() -> None:
    assert (await run([GraderConfig(name="always-skip")]))[1:] == (Status.SKIPPED, None)
    assert await run([]) == ([], Status.SKIPPED, None)


async def test_grades_keep_the_configured_order_with_async_graders() -> None:
    @grader("slow-yes")
    async def slow_yes(output: TargetOutput, case: Case, params: Any) -> bool:
        return True

    try:
        configs = [
            GraderConfig(name="slow-yes", metric="first"),
            contains("alpha", metric="second"),
            GraderConfig(name="slow-yes", metric="third"),
        ]
        grades, status, _ = await run(configs)
        assert [g.metric for g in grades] == ["first", "second", "third"]
        assert status is Status.PASS
    finally:
        unregister("slow-yes")


def test_bind_case_errors_name_the_grader_location() -> None:
    bad = GraderConfig(name="regexp", location="suites/s.yaml:42:7")
    with pytest.raises(GraderError, match=r"suites/s.yaml:42:7 unknown grader 'regexp'.*'regex'"):
        bind_case(make_case(graders=[bad]))
    negative = contains("x", weight=-1.0, location="suites/s.yaml:9:3")
    with pytest.raises(GraderError, match=r"suites/s.yaml:9:3 grader 'contains': weight -1.0"):
        bind_case(make_case(graders=[negative]))
