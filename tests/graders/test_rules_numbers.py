"""Numeric, latency and cost graders."""

from __future__ import annotations

import pytest

from evalkit.errors import GraderError
from evalkit.records import Status, TargetOutput
from tests.graders.grading import grade


async def test_numeric_takes_the_last_number_by_default() -> None:
    result = await grade("numeric", "3 apples plus 4 apples make 7", value=7)
    assert result.passed
    assert result.reason.startswith("found 7 (last of 3 numbers)")
    assert not (await grade("numeric", "7 is wrong, it is 8", value=7)).passed
    assert (await grade("numeric", "7 is right, not 8", value=7, pick="first")).passed


async def test_numeric_tolerances_and_thousands_separators() -> None:
    assert (await grade("numeric", "about 1,234.4 USD", value=1234, abs_tol=0.5)).passed
    far = await grade("numeric", "1,240", value=1234, abs_tol=0.5)
    assert far.status is Status.FAIL
    assert "off by 6" in far.reason
    assert (await grade("numeric", "1050", value=1000, rel_tol=0.05)).passed


async def test_numeric_expected_and_json_path() -> None:
    assert (
        await grade("numeric", '{"total": {"usd": "19.99"}}', path="total.usd", expected=19.99)
    ).passed
    no_number = await grade("numeric", '{"total": "n/a"}', path="total", expected=1)
    assert no_number.reason == "total = 'n/a', not a number"
    assert (await grade("numeric", TargetOutput(data=42), value=42)).passed


async def test_numeric_no_number_and_bad_expected() -> None:
    none = await grade("numeric", "no digits here", value=1)
    assert none.status is Status.FAIL
    assert none.reason == "no number in output: 'no digits here'"
    with pytest.raises(GraderError, match="is not a number"):
        await grade("numeric", "1", value="one")
    bad_expected = await grade("numeric", "1", expected="one")
    assert bad_expected.status is Status.ERROR


async def test_numeric_tolerance_must_be_a_number_not_a_boolean() -> None:
    with pytest.raises(GraderError, match="abs_tol"):
        await grade("numeric", "1", value=1, abs_tol=True)


async def test_latency_passes_within_budget_and_skips_cached_outputs() -> None:
    assert (await grade("latency", TargetOutput(text="x", latency_ms=120.0), value=200)).passed
    slow = await grade("latency", TargetOutput(text="x", latency_ms=350.0), max_ms=200)
    assert (slow.status, slow.reason) == (Status.FAIL, "took 350 ms (max 200 ms)")
    cached = await grade("latency", TargetOutput(text="x", latency_ms=1.0, cached=True), value=200)
    assert cached.status is Status.SKIPPED
    assert cached.score is None


async def test_cost_budget_and_unknown_cost() -> None:
    assert (await grade("cost", TargetOutput(text="x", cost_usd=0.002), value=0.01)).passed
    over = await grade("cost", TargetOutput(text="x", cost_usd=0.02), max_usd=0.01)
    assert over.status is Status.FAIL
    unknown = await grade("cost", TargetOutput(text="x"), value=0.01)
    assert unknown.status is Status.SKIPPED
    with pytest.raises(GraderError, match="max_usd: Field required"):
        await grade("cost", "x")
