"""The human verdict on a trial, and grader values that must stay literal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evalkit.feedback.expectations import grader_yaml, human_verdict, literal_value
from evalkit.graders.rules._common import Value
from evalkit.records import Case
from evalkit.store.labels import Label


def made_label(passed: bool, note: str | None = None) -> Label:
    """A real label (the verdict reads only passed, note and reviewer)."""
    return Label(
        run_id="r",
        trial_id="t",
        case_hash="sha256:x",
        grade_idx=None,
        metric=None,
        action="override",
        passed=passed,
        score=None,
        machine_status=None,
        machine_score=None,
        note=note,
        reviewer="rita",
        labelled_at=datetime.now(UTC),
        git_sha=None,
        source="terminal",
    )


def test_nobody_reviewed_means_no_verdict() -> None:
    assert human_verdict({}, {0: True}) is None


def test_a_whole_trial_label_decides_alone() -> None:
    verdict = human_verdict({None: made_label(True, "fine")}, {0: True, 1: False, 2: None})
    assert verdict is not None
    assert verdict.passed and verdict.notes == ["fine"]
    assert verdict.overridden == {1, 2}  # the grades that said otherwise
    failed = human_verdict({None: made_label(False)}, {0: True})
    assert failed is not None and not failed.passed and failed.overridden == set()


@pytest.mark.parametrize(
    ("labels", "machine", "passed", "overridden"),
    [
        ({1: True}, {0: True, 1: False}, True, {1}),  # the human fixed the one failing grade
        ({1: True}, {0: False, 1: False}, False, {1}),  # another grade still fails
        ({0: False}, {0: True, 1: True}, False, {0}),  # the human failed a passing grade
        ({0: True}, {0: True, 1: None}, False, set()),  # an errored grade is not a pass
    ],
)
def test_grade_labels_correct_the_machine_grade_by_grade(
    labels: dict[int, bool], machine: dict[int, bool | None], passed: bool, overridden: set[int]
) -> None:
    found = {idx: made_label(said) for idx, said in labels.items()}
    verdict = human_verdict(dict(found), machine)
    assert verdict is not None
    assert (verdict.passed, verdict.overridden) == (passed, overridden)


@pytest.mark.parametrize(
    "output",
    ["plain answer", "Hello {{ name }}, {% if x %}y{% endif %} {# c #}", "{{", "trailing {{\n"],
)
def test_rejected_output_is_compared_literally_even_with_template_syntax(output: str) -> None:
    value = literal_value(output)
    assert Value(value).get(Case(suite="s", id="c", vars={"name": "Bob"})) == output


def test_an_output_that_would_end_the_raw_block_is_not_written() -> None:
    assert literal_value("{{ x }} {% endraw %}") is None
    assert literal_value({"a": "{{ x }}"}) is None
    assert literal_value({"a": 1}) == {"a": 1}


def test_stored_graders_are_written_back_as_in_a_suite() -> None:
    stored = {
        "name": "contains",
        "args": {"ignore_case": True},
        "value": "refund",
        "negate": True,
        "weight": 2.0,
        "threshold": None,
        "metric": "no-refund",
        "location": "suites/a.yaml:3:7",
    }
    assert grader_yaml(stored) == {
        "type": "not-contains",
        "value": "refund",
        "weight": 2.0,
        "metric": "no-refund",
        "ignore_case": True,
    }
