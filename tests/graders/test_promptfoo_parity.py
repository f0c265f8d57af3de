"""evalkit's rule graders give promptfoo's verdicts, row by row.

Each row of `promptfoo_parity.jsonl` is an (output, assertion) pair written as a
promptfoo assertion (`type`, `value`, `threshold`) and the verdict promptfoo 0.121.20
gives it (`pass`, `fail`, or `error` where promptfoo throws): the rows were derived
from promptfoo's source (src/assertions/*.ts and the utilities they call) and their
verdicts taken from promptfoo's own `assertions.runAssertion` with
`tests/graders/promptfoo_verdicts.mjs`. A row with an `evalkit` key is a documented
difference (README, "Coming from promptfoo"): evalkit's verdict is that one instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import GraderError
from evalkit.graders.aggregate import bind_case
from evalkit.records import Case, TargetOutput
from evalkit.workspace.models import GraderSpec
from evalkit.workspace.suite import grader_config

# JSONL lines end at "\n" only: rows hold raw U+2028 and U+0085, which splitlines() splits on.
_TEXT = (Path(__file__).parent / "promptfoo_parity.jsonl").read_text("utf-8")
ROWS = [json.loads(line) for line in _TEXT.split("\n") if line]


def _label(row: dict[str, Any]) -> str:
    return f"{row['class']}:{row['assertion']['type']}"


async def verdict(output: str, assertion: dict[str, Any]) -> str:
    """The status evalkit gives, with the assertion read as a suite's grader is read."""
    spec = GraderSpec.model_validate(assertion)
    config = grader_config(spec, "suites/parity.yaml:1:1")
    case = Case(suite="parity", id="row", graders=[config])
    try:
        [bound] = bind_case(case)
    except GraderError:
        return "refused"
    return (await bound.grade(case, TargetOutput(text=output))).status.value


def test_the_table_is_large_and_covers_every_class() -> None:
    agreeing = [row for row in ROWS if "evalkit" not in row]
    assert len(agreeing) >= 300
    classes = {row["class"] for row in ROWS}
    for needed in (
        "unicode case",
        "csv",
        "empty/odd values",
        "whitespace",
        "equals data",
        "is-json",
        "contains-json",
        "levenshtein utf16",
        "word-count",
        "regex",
    ):
        assert needed in classes
    types = {row["assertion"]["type"].removeprefix("not-") for row in ROWS}
    assert types >= {
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "equals",
        "starts-with",
        "regex",
        "levenshtein",
        "is-json",
        "contains-json",
        "word-count",
    }
    assert {row["promptfoo"] for row in ROWS} == {"pass", "fail", "error"}


@pytest.mark.parametrize("row", ROWS, ids=[_label(row) for row in ROWS])
async def test_row(row: dict[str, Any]) -> None:
    wanted = row.get("evalkit", row["promptfoo"])
    assert await verdict(row["output"], row["assertion"]) == wanted
