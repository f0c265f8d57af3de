"""Writing cases into suite files: exact round trips, comments kept, every list shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.errors import ConfigError
from evalkit.feedback import yamlemit
from evalkit.feedback.suite_writer import append_cases, new_id, open_suite
from evalkit.graders.discovery import load_all
from evalkit.workspace.suite import load_suite
from evalkit.workspace.yamlfile import parse_yaml

TRICKY = [
    "  leading spaces",
    "trailing space ",
    "no",
    "Yes",
    "off",
    "null",
    "~",
    "",
    "0123",
    "1e5",
    "1_000",
    "0x1F",
    "3.14",
    "-7",
    "2024-01-01",
    "12:30:00",
    "1:30",
    "key: value",
    "a # not a comment",
    "#hashtag",
    "- dash",
    "[bracketed]",
    "{braced}",
    "*star &amp !bang %percent @at `tick",
    "'single' and \"double\" quotes \\ backslash",
    "ünïcödé ☃ 漢字 😀",
    "x" * 5000,
    "line one\nline two",
    "  indented first line\nsecond",
    "\n\nleading blank lines\nthen text",
    "ends with blank lines\n\n\n",
    "ends with newline\n",
    "carriage\r\nreturn",
    "tab\there\n\tand there",
    "nul\x00 bell\x07 esc\x1b del\x7f nbsp\xa0 bom\ufeff ls\u2028 ps\u2029 nel\x85",
    "   \n  \n",
    "---\n...\n",
    "{{ jinja }} stays text",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_read_back_exactly(text: str) -> None:
    case = {"id": "c1", "vars": {"question": text}, "expected": text, "metadata": {text: text}}
    written = "cases:\n" + yamlemit.case_item(case, 2)
    assert parse_yaml(written).data == {"cases": [case]}


def test_a_lone_surrogate_is_refused_not_mangled() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        yamlemit.scalar("half a pair \ud800")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(), json_values, max_size=5), st.integers(0, 6))
def test_any_json_value_round_trips(value: dict[str, Any], indent: int) -> None:
    case = {"id": "c1", "vars": value, "expected": value}
    written = " " * indent + "cases:\n" + yamlemit.case_item(case, indent)
    assert parse_yaml(written).data == {"cases": [case]}


HAND_WRITTEN = """\
# Our refund suite. Keep the tone cases at the top.
name: refunds   # the suite name
defaults:
  graders:
    - type: icontains   # checks `expected`
cases:
  - id: window   # the classic
    vars: {question: "What is the refund window?"}
    expected: "30 days"
  - id: story
    vars:
      question: |+
        A long story

  # - id: disabled
  #   vars: {question: parked}

# notes for whoever edits this next
"""


def write_suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "evals").mkdir(exist_ok=True)
    (tmp_path / "suites").mkdir(exist_ok=True)
    path = tmp_path / "suites" / "refunds.yaml"
    path.write_text(text)
    load_all(tmp_path)
    return path


NEW = [
    {"id": "imp-1", "vars": {"question": "Is shipping free?"}, "expected": "over $50"},
    {"id": "imp-2", "vars": {"question": "two\nlines\n"}, "expected": "no"},
]


def test_appending_keeps_every_line_and_comment(tmp_path: Path) -> None:
    path = write_suite(tmp_path, HAND_WRITTEN)
    suite = open_suite(path, tmp_path)
    append_cases(suite, NEW, header="")
    text = path.read_text()
    before, after = HAND_WRITTEN.split("\n\n# notes")
    assert text.startswith(before + "\n")  # nothing above the insertion moved
    assert text.endswith("\n# notes" + after)  # the trailing comment is still last
    loaded = load_suite(path, tmp_path)
    assert [c.id for c in loaded.cases] == ["window", "story", "imp-1", "imp-2"]
    assert loaded.cases[1].vars["question"] == "A long story\n\n"  # the keep-chomped block
    assert [c.vars["question"] for c in loaded.cases[2:]] == ["Is shipping free?", "two\nlines\n"]


@pytest.mark.parametrize(
    "cases_line",
    ["cases: []", "cases: []   # none yet", ""],
)
def test_an_empty_or_missing_list_gets_a_block_list(tmp_path: Path, cases_line: str) -> None:
    path = write_suite(tmp_path, f"# header\nname: refunds\n{cases_line}\n")
    append_cases(open_suite(path, tmp_path), NEW, header="")
    text = path.read_text()
    assert text.startswith("# header\nname: refunds\n")
    if "#" in cases_line:
        assert "# none yet" in text
    assert [c.id for c in load_suite(path, tmp_path).cases] == ["imp-1", "imp-2"]


def test_a_flow_list_with_cases_is_refused_and_left_alone(tmp_path: Path) -> None:
    original = 'name: refunds\ncases: [{id: a, vars: {q: "x"}}]\n'
    path = write_suite(tmp_path, original)
    with pytest.raises(ConfigError, match="flow style") as caught:
        append_cases(open_suite(path, tmp_path), NEW, header="")
    assert "block list" in str(caught.value)
    assert path.read_text() == original


def test_crlf_files_stay_crlf_and_unindented_lists_work(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "name: refunds\r\ncases:\r\n- id: a\r\n  vars: {q: x}\r\n")
    append_cases(open_suite(path, tmp_path), NEW, header="")
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert [c.id for c in load_suite(path, tmp_path).cases] == ["a", "imp-1", "imp-2"]


def test_a_new_suite_is_named_after_its_file_with_a_header(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "name: refunds\n").with_name("from-logs.yaml")
    suite = open_suite(path, tmp_path)
    append_cases(suite, NEW, header="# Generated by evalkit import\n")
    text = path.read_text()
    assert text.startswith("# Generated by evalkit import\nname: from-logs\n")
    assert load_suite(path, tmp_path).name == "from-logs"
    assert not list(path.parent.glob(".*.tmp"))  # the temp file is gone


def test_a_suite_that_would_not_load_is_never_written(tmp_path: Path) -> None:
    path = write_suite(tmp_path, HAND_WRITTEN)
    bad = [{"id": "window", "vars": {"question": "dup id"}}]
    with pytest.raises(Exception, match="duplicate case id 'window'") as caught:
        append_cases(open_suite(path, tmp_path), bad, header="")
    assert "refunds.yaml" in str(caught.value) and ".tmp" not in str(caught.value)
    assert path.read_text() == HAND_WRITTEN
    assert not list(path.parent.glob(".*.tmp"))


def test_generated_ids_grow_until_free() -> None:
    digest = "sha256:" + "ab" * 32
    assert new_id("imp", digest, set()) == "imp-" + "ab" * 5
    assert new_id("imp", digest, {"imp-" + "ab" * 5}) == "imp-" + "ab" * 6


def test_cases_go_into_the_list_not_after_the_keys_that_follow_it(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        "name: refunds\ncases:\n- id: a\n  vars: {q: x}\n# between\nversion: '2'\ntags: [t]\n",
    )
    append_cases(open_suite(path, tmp_path), NEW, header="")
    text = path.read_text()
    assert text.endswith("\nversion: '2'\ntags: [t]\n") and "\n# between\n" in text
    loaded = load_suite(path, tmp_path)
    assert (loaded.version, loaded.tags) == ("2", ["t"])
    assert [c.id for c in loaded.cases] == ["a", "imp-1", "imp-2"]


def test_edits_made_meanwhile_are_never_overwritten(tmp_path: Path) -> None:
    path = write_suite(tmp_path, HAND_WRITTEN)
    suite = open_suite(path, tmp_path)
    edited = HAND_WRITTEN.replace("the classic", "edited in an editor meanwhile")
    path.write_text(edited)
    with pytest.raises(ConfigError, match="changed while the cases were being prepared"):
        append_cases(suite, NEW, header="")
    assert path.read_text() == edited
    assert not list(path.parent.glob(".*.tmp"))
