"""Every kind of suite problem names its file:line:col, its field path and a fix."""

from __future__ import annotations

import pytest

from evalkit.errors import SpecError
from evalkit.workspace import load_suite
from tests.workspace.conftest import Workspace


def problems(ws: Workspace, text: str) -> list[str]:
    """The problems of suites/s.yaml with `text`, one formatted line each."""
    path = ws.write("suites/s.yaml", text)
    with pytest.raises(SpecError) as exc:
        load_suite(path, ws.root)
    return [str(SpecError([p])) for p in exc.value.problems]


def test_unknown_grader_key_in_the_third_case_points_at_its_line(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - vars: {q: a}
          - vars: {q: b}
          - vars: {q: c}
            graders:
              - type: length
                max: 10
                maks: 12
        """,
    )
    assert found == [
        "suites/s.yaml:7:9 cases[2].graders[0]: "
        "grader 'length': maks: Extra inputs are not permitted"
    ]


def test_unknown_case_key_suggests_the_field(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - vars: {q: a}
            expeted: b
        """,
    )
    assert found == ["suites/s.yaml:4:5 cases[0]: unknown key 'expeted' (did you mean 'expected'?)"]


def test_unknown_top_level_key_without_a_close_match(ws: Workspace) -> None:
    assert problems(ws, "name: s\nzzz: 1\n") == ["suites/s.yaml:2:1: unknown key 'zzz'"]


def test_wrong_types_name_the_field_and_what_was_given(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - id: 42
            context: 5
            graders:
              - type: contains
                weight: high
          - vars: [a, b]
            tags: yes
            skip: maybe
        """,
    )
    assert found == [
        "suites/s.yaml:3:5 cases[0].id: expected text, got the number 42 "
        "(put it in quotes to make it text)",
        "suites/s.yaml:4:5 cases[0].context: expected a list or text, got the number 5 "
        "(put it in quotes to make it text)",
        "suites/s.yaml:7:9 cases[0].graders[0].weight: expected a number, got text 'high'",
        "suites/s.yaml:8:5 cases[1].vars: expected a mapping (key: value), got a list",
        "suites/s.yaml:9:5 cases[1].tags: expected a list, got text 'yes'",
        "suites/s.yaml:10:5 cases[1].skip: expected true or false, got text 'maybe'",
    ]


def test_a_boolean_is_not_a_number(ws: Workspace) -> None:
    found = problems(ws, "name: s\ndefaults:\n  threshold: true\n")
    assert found == ["suites/s.yaml:3:3 defaults.threshold: expected a number, got true"]


def test_missing_required_keys(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        cases:
          - graders:
              - value: x
        """,
    )
    assert found == [
        "suites/s.yaml:1:1: missing required key 'name'",
        "suites/s.yaml:3:9 cases[0].graders[0]: missing required key 'type'",
    ]


def test_bad_message_role_lists_the_choices(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - messages:
              - role: usr
                content: hi
        """,
    )
    assert found == [
        "suites/s.yaml:4:9 cases[0].messages[0].role: expected one of "
        "'system', 'user' or 'assistant', got text 'usr'"
    ]


def test_cases_from_entry_with_a_typo(ws: Workspace) -> None:
    found = problems(ws, "name: s\ncases_from:\n  - pth: x.csv\n")
    assert found == [
        "suites/s.yaml:3:5 cases_from[0]: missing required key 'path'",
        "suites/s.yaml:3:5 cases_from[0]: unknown key 'pth' (did you mean 'path'?)",
    ]


def test_unknown_grader_suggests_a_close_name(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        defaults:
          graders:
            - type: not-contians
        cases:
          - vars: {q: a}
        """,
    )
    assert len(found) == 1
    assert found[0].startswith(
        "suites/s.yaml:4:7 defaults.graders[0]: "
        "unknown grader 'contians' (did you mean 'contains'?)"
    )


def test_grader_value_for_a_grader_without_one(ws: Workspace) -> None:
    found = problems(ws, "name: s\ncases:\n  - graders: [{type: length, value: 3, max: 4}]\n")
    assert found == ["suites/s.yaml:3:15 cases[0].graders[0]: grader 'length' takes no `value`"]


def test_weights_and_thresholds_out_of_range(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        defaults:
          threshold: 2
        cases:
          - threshold: -0.5
            graders:
              - type: contains
                weight: -1
                threshold: 1.5
        """,
    )
    assert found == [
        "suites/s.yaml:3:3 defaults.threshold: threshold must be between 0 and 1, got 2",
        "suites/s.yaml:8:9 cases[0].graders[0]: weight must be 0 or more",
        "suites/s.yaml:9:9 cases[0].graders[0].threshold: threshold must be between 0 and 1, "
        "got 1.5",
        "suites/s.yaml:5:5 cases[0].threshold: threshold must be between 0 and 1, got -0.5",
    ]


def test_unsafe_ids_and_names(ws: Workspace) -> None:
    found = problems(ws, "name: my suite\ncases:\n  - id: a/b\n")
    assert found == [
        "suites/s.yaml:1:1 name: suite name 'my suite' is not a safe id: use letters, digits "
        "and - _ . : only (at most 128, not starting with - . :)",
        "suites/s.yaml:3:5 cases[0].id: case id 'a/b' is not a safe id: use letters, digits "
        "and - _ . : only (at most 128, not starting with - . :)",
    ]


def test_duplicate_ids_point_at_the_second(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - id: a
          - id: b
          - id: a
        """,
    )
    assert found == [
        "suites/s.yaml:5:5 cases[2].id: duplicate case id 'a' (first at suites/s.yaml:3:5)"
    ]


def test_identical_cases_without_ids_collide_on_their_derived_id(ws: Workspace) -> None:
    found = problems(ws, "name: s\ncases:\n  - vars: {q: a}\n  - vars: {q: a}\n")
    assert len(found) == 1
    assert found[0].startswith(
        "suites/s.yaml:4:5 cases[1]: this case has the same content as the one at suites/s.yaml:3:5"
    )


def test_not_a_mapping(ws: Workspace) -> None:
    assert problems(ws, "- a\n- b\n") == [
        "suites/s.yaml:1:1: expected a suite: a mapping with `name:` and `cases:`, "
        "found a single value or a list"
    ]
    assert problems(ws, "") == [
        "suites/s.yaml: expected a suite: a mapping with `name:` and `cases:`, found an empty file"
    ]


def test_problems_from_several_places_are_all_reported(ws: Workspace) -> None:
    found = problems(
        ws,
        """
        name: s
        cases:
          - {vars: {q: a}, graders: [{type: nope}]}
          - {vars: {q: b}, graders: [{type: length}]}
        """,
    )
    assert [line.split(" ", 2)[:2] for line in found] == [
        ["suites/s.yaml:3:30", "cases[0].graders[0]:"],
        ["suites/s.yaml:4:30", "cases[1].graders[0]:"],
    ]
