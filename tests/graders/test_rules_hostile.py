"""Rule graders on hostile outputs: a verdict or status error, never a crash or a hang.

Sizes are chosen so a quadratic algorithm would take minutes while the graders take
well under a second each; none of these asserts a duration.
"""

from __future__ import annotations

import pytest

from evalkit.records import Status
from tests.graders.grading import grade

DEEP = 50_000


@pytest.mark.parametrize(
    ("name", "output", "args", "status"),
    [
        ("is-json", "[" * DEEP + "]" * DEEP, {}, Status.PASS),  # JSON.parse reads any depth
        ("is-json", '{"a":' * DEEP + "1" + "}" * DEEP, {}, Status.PASS),
        ("is-json", "[" * DEEP + "]" * (DEEP - 1), {}, Status.FAIL),
        ("equals", "[" * DEEP + "]" * DEEP, {"value": [[1]]}, Status.FAIL),
        ("contains-json", "{" * 100_000, {}, Status.ERROR),  # too much work: said, not hung
        ("contains-json", "x {a: 1} " * 50_000, {}, Status.PASS),
        ("contains-json", '{"a":' * DEEP, {}, Status.ERROR),
        ("contains-html", "<a <b " * 100_000, {}, Status.PASS),
        ("contains-html", "<x <y " * 100_000, {}, Status.FAIL),
        ("is-html", "<div>" * DEEP, {}, Status.PASS),
        ("is-xml", "<a>" * 20_000 + "</a>" * 20_000, {}, Status.PASS),
        ("contains-xml", "<a>" * 100_000, {}, Status.FAIL),
        ("word-count", "a " * 1_000_000, {"value": {"min": 1}}, Status.PASS),
        ("icontains-any", "x" * 1_000_000, {"value": ",".join(["y"] * 5_000)}, Status.FAIL),
        ("levenshtein", "a" * 20_000, {"value": "b" * 20_000}, Status.FAIL),
    ],
    ids=lambda item: item if isinstance(item, str) and len(item) < 20 else "",
)
async def test_hostile_output_gets_a_verdict(
    name: str, output: str, args: dict[str, object], status: Status
) -> None:
    result = await grade(name, output, **args)
    assert result.status is status, result.reason
    assert len(result.reason) < 400  # reasons are clipped, not the whole output
