"""The YAML loader: unsurprising scalars, refused tags and bombs, positions for every node."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from evalkit.errors import Location, SpecError
from evalkit.workspace.yamlfile import MAX_ALIASES, MAX_BYTES, load_yaml, parse_yaml


def only_problem(exc: pytest.ExceptionInfo[SpecError]) -> tuple[str, str, str]:
    assert len(exc.value.problems) == 1, exc.value.problems
    location, field, message = exc.value.problems[0]
    return str(location), field, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("Off", "Off"),
        ("y", "y"),
        ("n", "n"),
        ("0123", "0123"),
        ("007.5", "007.5"),
        ("1:30", "1:30"),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01 10:00:00", "2024-01-01 10:00:00"),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("1_000", "1_000"),
        (".inf", ".inf"),
        (".nan", ".nan"),
        ("=", "="),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("tRuE", True),
        ("false", False),
        ("FALSE", False),
        ("null", None),
        ("Null", None),
        ("~", None),
        ("", None),
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("+42", 42),
        ("-17", -17),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1.", 1.0),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("'12'", "12"),
        ('"true"', "true"),
        ("!!str 12", "12"),
        ("!!int '12'", 12),
        ("!!float '1'", 1.0),
    ],
)
def test_scalars_follow_a_small_core_schema(text: str, expected: object) -> None:
    value = parse_yaml(f"key: {text}\n").data["key"]
    assert value == expected
    assert type(value) is type(expected)


def test_keys_are_the_text_written() -> None:
    data = parse_yaml("yes: 1\n1: 2\nnull: 3\ntrue: 4\n").data
    assert data == {"yes": 1, "1": 2, "null": 3, "true": 4}


def test_duplicate_key_points_at_the_second_one() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("name: a\ncases:\n  - id: x\n    vars: {}\n    id: y\n", "s.yaml")
    assert only_problem(exc) == (
        "s.yaml:5:5",
        "",
        "duplicate key 'id' (first written on line 3); keep one of them",
    )


def test_duplicate_key_in_a_flow_mapping() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("vars: {a: 1, b: 2, a: 3}\n", "s.yaml")
    assert only_problem(exc)[0] == "s.yaml:1:20"


def test_python_tags_are_refused_not_run() -> None:
    text = "cases:\n  - vars: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(SpecError) as exc:
        parse_yaml(text, "s.yaml")
    location, _, message = only_problem(exc)
    assert location == "s.yaml:2:11"
    assert message.startswith("YAML tag '!!python/object/apply:os.system' is not allowed")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/name:os.system\n",
        "a: !!binary aGk=\n",
        "a: !!timestamp 2024-01-01\n",
        "a: !!set {x}\n",
        "a: !!omap [{x: 1}]\n",
        "a: !custom thing\n",
        "a: !!int [1]\n",
        "!!python/object:os.system {}\n",
    ],
)
def test_every_unknown_tag_is_refused(text: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml(text)
    assert "is not allowed" in only_problem(exc)[2]


def test_explicit_int_tag_on_text_is_an_error() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("a: !!int twelve\n", "s.yaml")
    assert only_problem(exc) == ("s.yaml:1:4", "", "'twelve' is not a whole number")


def test_non_finite_float_is_refused() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("a: !!float inf\n", "s.yaml")
    assert only_problem(exc)[2] == "'inf' is not a finite number"


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_before_expansion() -> None:
    # Expanding it would build 10**10 nodes and never return: the error proves it was
    # counted, not built.
    with pytest.raises(SpecError) as exc:
        parse_yaml(billion_laughs(), "bomb.yaml")
    location, _, message = only_problem(exc)
    assert location == "bomb.yaml:1:1"
    assert message.startswith("document expands to more than 1,000,000 nodes")


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(SpecError) as exc:
        parse_yaml(text)
    assert only_problem(exc)[2] == f"too many aliases (*name): the limit is {MAX_ALIASES}"


def test_aliases_of_a_long_string_are_refused_by_what_they_expand_to() -> None:
    # few nodes, few aliases, but 99 copies of 1 MB: 99 MB once expanded
    long = "x" * 1_000_000
    text = f"big: &big '{long}'\nuses: [" + ", ".join(["*big"] * 98) + "]\n"
    assert len(text) < MAX_BYTES
    with pytest.raises(SpecError) as exc:
        parse_yaml(text, "bomb.yaml")
    location, _, message = only_problem(exc)
    assert location == "bomb.yaml:1:1"
    assert message.startswith(f"document expands to more than {MAX_BYTES:,} characters")
    # nine copies of it stay under the limit and load
    text = f"big: &big '{long}'\nuses: [" + ", ".join(["*big"] * 8) + "]\n"
    assert parse_yaml(text).data["uses"][7] == long


def test_a_few_aliases_expand_into_independent_copies() -> None:
    data = parse_yaml("base: &b {x: [1]}\none: *b\ntwo: *b\n").data
    assert data["one"] == data["two"] == {"x": [1]}
    data["one"]["x"].append(2)
    assert data["two"] == {"x": [1]}


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("a: &a [1, *a]\n", "s.yaml")
    assert only_problem(exc) == ("s.yaml:1:4", "", "an alias refers to its own anchor (a cycle)")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("a: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested more than 100 levels deep" in only_problem(exc)[2]


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
    assert doc.data["c"] == {"x": 1, "y": 3}
    assert doc.keys[("c", "y")] == (4, 3)


def test_invalid_yaml_reports_where() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("cases:\n  - id: a\n   vars: {}\n", "s.yaml")
    location, _, message = only_problem(exc)
    assert location == "s.yaml:3:4"
    assert message.startswith("invalid YAML: ")


def test_two_documents_are_refused() -> None:
    with pytest.raises(SpecError) as exc:
        parse_yaml("a: 1\n---\nb: 2\n", "s.yaml")
    assert only_problem(exc)[0] == "s.yaml:2:1"


def test_empty_document_is_none() -> None:
    assert parse_yaml("# only a comment\n").data is None


def test_positions_of_keys_values_and_items() -> None:
    text = "name: s\ncases:\n  - id: a\n    graders:\n      - type: contains\n        value: x\n"
    doc = parse_yaml(text, "s.yaml")
    assert doc.keys[("name",)] == (1, 1)
    assert doc.values[("name",)] == (1, 7)
    assert doc.values[("cases", 0)] == (3, 5)
    assert doc.keys[("cases", 0, "graders", 0, "type")] == (5, 9)
    assert doc.values[("cases", 0, "graders", 0, "value")] == (6, 16)
    # A path that is not written falls back to its nearest written ancestor.
    assert doc.location(("cases", 0, "graders", 0, "weight")) == Location("s.yaml", 5, 9)
    assert doc.location(("missing",)) == Location("s.yaml", 1, 1)


def test_file_over_the_size_limit_is_refused_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no need to write 10 MB
    with pytest.raises(SpecError) as exc:
        load_yaml(big, "big.yaml")
    assert only_problem(exc)[2] == f"file is {MAX_BYTES + 1:,} bytes; the limit is {MAX_BYTES:,}"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: s\ndescription: caf\xe9\n")
    with pytest.raises(SpecError) as exc:
        load_yaml(path, "s.yaml")
    assert only_problem(exc) == ("s.yaml:2", "", "file is not valid UTF-8; save it as UTF-8")


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as exc:
        load_yaml(tmp_path / "nope.yaml", "nope.yaml")
    assert only_problem(exc)[0] == "nope.yaml"
