"""`cases_from:` CSV and JSONL files: columns to fields, confinement, errors by line."""

from __future__ import annotations

import os

import pytest

from evalkit.errors import SpecError
from evalkit.workspace import load_suite
from evalkit.workspace.loaded import LoadedSuite
from tests.workspace.conftest import Workspace

CSV = (
    "id,question,expected,context,tags,cluster,description,metadata.source,notes\n"
    'r1,"What is 2+2, exactly?",4,Arithmetic.,"math, easy",m,Adds,kb-1,\n'
    "\n"
    ',"multi\nline question",x,,a;b ; c,,,,keep me\n'
)


def suite_with(ws: Workspace, entry: str, defaults: str = "") -> LoadedSuite:
    path = ws.write("suites/s.yaml", f"name: s\n{defaults}cases_from:\n  - {entry}\n")
    return load_suite(path, ws.root)


def problems_of(ws: Workspace, entry: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        suite_with(ws, entry)
    return [str(SpecError([p])) for p in exc.value.problems]


def test_csv_columns_become_case_fields_metadata_and_vars(ws: Workspace) -> None:
    ws.write("suites/rows.csv", CSV)
    suite = suite_with(ws, "rows.csv", defaults="defaults: {vars: {lang: en}, tags: [d]}\n")
    first, second = suite.cases
    assert first.id == "r1"
    assert first.vars == {"lang": "en", "question": "What is 2+2, exactly?", "notes": ""}
    assert first.expected == "4"
    assert first.context == ["Arithmetic."]
    assert first.tags == ["d", "math", "easy"]
    assert first.cluster == "m"
    assert first.metadata == {"source": "kb-1", "description": "Adds"}
    assert first.location == "suites/rows.csv:2"
    # An empty cell in a case field means "not given"; a multi-line cell keeps its start line.
    assert second.id.startswith("case-")
    assert second.vars["question"] == "multi\nline question"
    assert second.context == []
    assert second.tags == ["d", "a", "b", "c"]
    assert second.metadata == {}
    assert second.location == "suites/rows.csv:4"


def test_a_csv_cell_longer_than_pythons_default_limit_is_read_whole(ws: Workspace) -> None:
    # a retrieved document is an ordinary cell; Python's csv stops at 131,072 characters
    document = "lorem ipsum " * 30_000  # 360,000 characters
    ws.write("suites/rows.csv", f'id,question,context\nlong,Summarise,"{document}"\n')
    (case,) = suite_with(ws, "rows.csv").cases
    assert case.context == [document]


def test_csv_map_renames_columns(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "q,answer\nhi,hello\n")
    suite = suite_with(ws, "{path: rows.csv, map: {q: question, answer: expected}}")
    assert suite.cases[0].vars == {"question": "hi"}
    assert suite.cases[0].expected == "hello"


def test_csv_map_of_a_missing_column_points_at_map(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "q\nhi\n")
    assert problems_of(ws, "{path: rows.csv, map: {qq: question}}") == [
        "suites/s.yaml:3:22 cases_from[0].map: column 'qq' is not in suites/rows.csv (q)"
    ]


def test_jsonl_rows_keep_their_types(ws: Workspace) -> None:
    ws.write(
        "suites/rows.jsonl",
        '{"id": "j1", "n": 3, "expected": {"total": 3}, "tags": ["x"], '
        '"metadata": {"k": 1}, "metadata.extra": true, "context": ["p1", "p2"]}\n'
        "\n"
        '{"vars": {"q": "hi"}, "messages": [{"role": "user", "content": "hi"}], "tags": "a;b"}\n',
    )
    first, second = suite_with(ws, "rows.jsonl").cases
    assert (first.id, first.vars, first.expected) == ("j1", {"n": 3}, {"total": 3})
    assert first.metadata == {"k": 1, "extra": True}
    assert first.context == ["p1", "p2"]
    assert first.tags == ["x"]
    assert second.vars == {"q": "hi"}
    assert second.messages is not None and second.messages[0].content == "hi"
    assert second.tags == ["a", "b"]
    assert second.location == "suites/rows.jsonl:3"


def test_jsonl_errors_name_line_and_column(ws: Workspace) -> None:
    ws.write("suites/rows.jsonl", '{"id": "a"}\n{"id": "b",}\n')
    assert problems_of(ws, "rows.jsonl") == [
        "suites/rows.jsonl:2:12: invalid JSON: Expecting property name enclosed in double quotes"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('["not", "an object"]', "each line must be one JSON object ({...})"),
        ('{"a": 1, "a": 2}', "duplicate key 'a' in a JSON object; keep one of them"),
        ('{"a": NaN}', "'NaN' is not a number JSON allows; write a finite number or a string"),
    ],
)
def test_jsonl_rows_that_are_refused(ws: Workspace, line: str, message: str) -> None:
    ws.write("suites/rows.jsonl", '{"id": "ok"}\n' + line + "\n")
    assert problems_of(ws, "rows.jsonl") == [f"suites/rows.jsonl:2: {message}"]


def test_row_values_are_validated_like_yaml_cases(ws: Workspace) -> None:
    ws.write("suites/rows.jsonl", '{"id": "a"}\n{"id": 7}\n{"id": "b c"}\n{"id": "a"}\n')
    assert problems_of(ws, "rows.jsonl") == [
        "suites/rows.jsonl:2 id: expected text, got the number 7 "
        "(put it in quotes to make it text)",
        "suites/rows.jsonl:3 id: case id 'b c' is not a safe id: use letters, digits and - _ . : "
        "only (at most 128, not starting with - . :)",
        "suites/rows.jsonl:4 id: duplicate case id 'a' (first at suites/rows.jsonl:1)",
    ]


def test_csv_row_with_too_many_fields(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "id,q\na,b\nc,d,e\n")
    assert problems_of(ws, "rows.csv") == [
        "suites/rows.csv:3: row has 3 fields but the header has 2; quote fields that contain commas"
    ]


def test_csv_header_problems(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "id,q,,q\na,b,c,d\n")
    assert problems_of(ws, "rows.csv") == [
        "suites/rows.csv:1: column 3 has no name",
        "suites/rows.csv:1: column 'q' appears twice",
    ]


def test_empty_csv_and_wrong_extension(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "\n")
    ws.write("suites/rows.txt", "id\n")
    assert problems_of(ws, "rows.csv") == ["suites/rows.csv: file is empty; expected a header row"]
    assert problems_of(ws, "rows.txt") == [
        "suites/rows.txt: unsupported case file type '.txt'; use .csv or .jsonl"
    ]


def test_missing_case_file(ws: Workspace) -> None:
    assert problems_of(ws, "nope.csv") == [
        "suites/s.yaml:3:5 cases_from[0]: case file 'nope.csv' not found at suites/nope.csv"
    ]


def test_parent_escape_is_refused(ws: Workspace) -> None:
    (ws.root.parent / "secret.csv").write_text("id\nx\n")
    found = problems_of(ws, "../../secret.csv")
    assert len(found) == 1
    assert found[0].startswith(
        "suites/s.yaml:3:5 cases_from[0]: cases_from file '../../secret.csv' leads outside "
        "the workspace"
    )


def test_absolute_path_is_refused(ws: Workspace) -> None:
    target = ws.root / "suites" / "rows.csv"
    target.write_text("id\nx\n")
    found = problems_of(ws, f"{{path: '{target}'}}")
    assert len(found) == 1
    assert found[0].startswith(
        f"suites/s.yaml:3:12 cases_from[0]: cases_from file '{target}' is absolute"
    )


def test_symlink_out_of_the_workspace_is_refused(ws: Workspace) -> None:
    outside = ws.root.parent / "outside.csv"
    outside.write_text("id\nx\n")
    os.symlink(outside, ws.root / "suites" / "link.csv")
    found = problems_of(ws, "link.csv")
    assert len(found) == 1
    assert "leads outside the workspace" in found[0]


def test_a_file_elsewhere_in_the_workspace_is_fine(ws: Workspace) -> None:
    ws.write("data/rows.csv", "id,q\nd1,hi\n")
    assert [c.id for c in suite_with(ws, "../data/rows.csv").cases] == ["d1"]


def test_yaml_cases_come_before_file_rows_and_ids_must_not_clash(ws: Workspace) -> None:
    ws.write("suites/rows.csv", "id\nboth\n")
    path = ws.write("suites/s.yaml", "name: s\ncases:\n  - id: both\ncases_from: [rows.csv]\n")
    with pytest.raises(SpecError) as exc:
        load_suite(path, ws.root)
    assert [str(SpecError([p])) for p in exc.value.problems] == [
        "suites/rows.csv:2 id: duplicate case id 'both' (first at suites/s.yaml:3:5)"
    ]


def test_jsonl_lines_end_at_newline_only(ws: Workspace) -> None:
    # U+2028, U+2029 and U+0085 are text inside a JSON string; splitlines() breaks there.
    rows = ['{"id": "a", "q": "one\u2028two\u0085three\u2029four"}', '{"id": "b", "q": "x"}']
    ws.write("suites/rows.jsonl", "\r\n".join(rows) + "\n")
    first, second = suite_with(ws, "rows.jsonl").cases
    assert first.vars["q"] == "one\u2028two\u0085three\u2029four"
    assert (second.id, second.location) == ("b", "suites/rows.jsonl:2")


def test_rows_carry_their_own_graders(ws: Workspace) -> None:
    ws.write(
        "suites/rows.csv",
        "id,q,graders\n"
        'a,hi,"[{""type"": ""icontains"", ""value"": ""hello""}]"\n'
        'b,yo,"{""type"": ""not-contains"", ""value"": ""bye"", ""weight"": 2}"\n'
        "c,no graders,\n",
    )
    suite = suite_with(ws, "rows.csv", defaults="defaults: {graders: [{type: is-json}]}\n")
    a, b, c = suite.cases
    assert [(g.name, g.value) for g in a.graders] == [("is-json", None), ("icontains", "hello")]
    assert (b.graders[1].name, b.graders[1].negate, b.graders[1].weight) == ("contains", True, 2.0)
    assert [g.name for g in c.graders] == ["is-json"]
    assert "graders" not in a.vars
    ws.write(
        "suites/rows.jsonl",
        '{"id": "j", "assert": [{"type": "equals", "value": 42}]}\n'
        '{"id": "k", "graders": [{"type": "word-count", "value": {"min": 2}}]}\n',
    )
    j, k = suite_with(ws, "rows.jsonl").cases
    assert (j.graders[0].name, j.graders[0].value) == ("equals", 42)
    assert (k.graders[0].name, k.graders[0].value) == ("word-count", {"min": 2})


def test_row_graders_errors_name_the_row(ws: Workspace) -> None:
    ws.write("suites/rows.csv", 'id,graders\na,"[{""type"": ""contain""}]"\nb,[not json\n')
    problems = problems_of(ws, "rows.csv")
    assert problems[0].startswith("suites/rows.csv:3 graders: the graders column is not JSON")
    ws.write("suites/rows.csv", 'id,graders\na,"[{""type"": ""contain"", ""value"": ""x""}]"\n')
    [problem] = problems_of(ws, "rows.csv")
    assert problem.startswith("suites/rows.csv:2")
    assert "unknown grader 'contain' (did you mean 'contains'?)" in problem


@pytest.mark.parametrize("depth", [500, 5000])
def test_deeply_nested_graders_cell_is_refused_by_row(ws: Workspace, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    cell = '[{""type"": ""equals"", ""value"": ' + deep + "}]"
    ws.write("suites/rows.csv", f'question,graders\nhi,\n"hello","{cell}"\n')
    assert problems_of(ws, "rows.csv") == [
        "suites/rows.csv:3 graders: a value is nested more than 100 levels deep; flatten it"
    ]
