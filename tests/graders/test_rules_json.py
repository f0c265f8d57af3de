"""JSON rule graders: is-json, contains-json, json-schema, json-field."""

from __future__ import annotations

import pytest

from evalkit.errors import GraderError
from evalkit.records import Status, TargetOutput
from tests.graders.grading import grade

PERSON = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}


async def test_is_json_accepts_json_and_rejects_prose() -> None:
    assert (await grade("is-json", ' {"a": 1} ')).passed
    failed = await grade("is-json", "Sure! Here it is")
    assert failed.status is Status.FAIL
    assert failed.reason.startswith("output is not JSON (Expecting value")


async def test_is_json_does_not_accept_a_code_fence_but_json_schema_does() -> None:
    fenced = '```json\n{"name": "Ada", "age": 36}\n```'
    assert not (await grade("is-json", fenced)).passed
    assert (await grade("json-schema", fenced, value=PERSON)).passed


async def test_is_json_with_schema() -> None:
    assert (await grade("is-json", '{"name": "Ada", "age": 36}', value=PERSON)).passed
    failed = await grade("is-json", '{"name": "Ada", "age": -1}', value=PERSON)
    assert failed.status is Status.FAIL
    assert "$.age: -1 is less than the minimum of 0" in failed.reason


async def test_json_schema_lists_errors_with_paths() -> None:
    failed = await grade("json-schema", '{"name": 7}', value=PERSON)
    assert failed.status is Status.FAIL
    assert "$: 'age' is a required property" in failed.reason
    assert "$.name: 7 is not of type 'string'" in failed.reason


async def test_json_schema_accepts_schema_as_json_text_and_structured_output() -> None:
    schema = '{"type": "object", "required": ["label"]}'
    assert (await grade("json-schema", TargetOutput(data={"label": "x"}), value=schema)).passed
    assert not (await grade("json-schema", TargetOutput(data={"other": 1}), value=schema)).passed


async def test_json_schema_invalid_schema_fails_at_bind() -> None:
    with pytest.raises(GraderError, match=r"grader 'json-schema'.*invalid JSON schema"):
        await grade("json-schema", "{}", value={"type": "no-such-type"})
    with pytest.raises(GraderError, match="value: Field required"):
        await grade("json-schema", "{}")


async def test_json_schema_on_non_json_output_fails() -> None:
    failed = await grade("json-schema", "not json", value=PERSON)
    assert failed.status is Status.FAIL
    assert "output is not JSON" in failed.reason


async def test_contains_json_finds_embedded_json() -> None:
    text = 'Here you go: {"name": "Ada", "age": 36} — anything else?'
    found = await grade("contains-json", text, value=PERSON)
    assert found.passed
    assert found.reason == "found a JSON object valid against the schema"
    assert not (await grade("contains-json", "no braces here [1, 2]")).passed
    # promptfoo closes an unclosed brace and reads `{here}` as a YAML mapping
    assert (await grade("contains-json", "no braces {here")).passed


async def test_json_field_equals_with_path_into_arrays() -> None:
    text = '{"a": {"b": [{"c": "yes"}, {"c": "no"}]}}'
    assert (await grade("json-field", text, path="a.b[0].c", equals="yes")).passed
    assert (await grade("json-field", text, path="$.a.b[-1].c", value="no")).passed
    failed = await grade("json-field", text, path="a.b[1].c", equals="yes")
    assert failed.reason == "a.b[1].c: expected 'yes', got 'no'"


async def test_json_field_missing_path_says_where_it_broke() -> None:
    failed = await grade("json-field", '{"a": {"x": 1}}', path="a.b.c", equals=1)
    assert failed.status is Status.FAIL
    assert failed.reason == "a.b.c: $.a has no key 'b' (keys: 'x')"
    out_of_range = await grade("json-field", '{"a": [1]}', path="a[3]")
    assert out_of_range.reason == "a[3]: $.a has 1 items, no [3]"


async def test_json_field_contains_one_of_matches() -> None:
    text = '{"tags": ["vpn", "mfa"], "label": "billing", "id": "INC-42"}'
    assert (await grade("json-field", text, path="tags", contains="mfa")).passed
    assert not (await grade("json-field", text, path="tags", contains="sso")).passed
    assert (await grade("json-field", text, path="label", **{"one-of": ["billing", "tech"]})).passed
    assert not (await grade("json-field", text, path="label", one_of=["tech"])).passed
    assert (await grade("json-field", text, path="id", matches=r"^INC-\d+$")).passed


async def test_json_field_templated_string_matches_number_field() -> None:
    result = await grade(
        "json-field", '{"order": 1234}', path="order", equals="{{ n }}", vars={"n": 1234}
    )
    assert result.passed


async def test_json_field_without_checks_requires_a_non_null_value() -> None:
    assert (await grade("json-field", '{"a": 0}', path="a")).passed
    assert not (await grade("json-field", '{"a": null}', path="a")).passed


async def test_json_field_reads_structured_output_and_quoted_keys() -> None:
    output = TargetOutput(data={"routing": {"team.name": "billing"}})
    assert (await grade("json-field", output, path='routing["team.name"]', equals="billing")).passed


async def test_json_field_bad_path_fails_at_bind() -> None:
    with pytest.raises(GraderError, match=r"bad JSON path 'a\.\.b'"):
        await grade("json-field", "{}", path="a..b")


async def test_json_field_on_non_json_output_fails() -> None:
    failed = await grade("json-field", "plain words", path="a", equals=1)
    assert failed.status is Status.FAIL
    assert "output is not JSON" in failed.reason


async def test_not_is_json_passes_prose() -> None:
    negated = await grade("is-json", "just words", negate=True)
    assert (negated.status, negated.metric) == (Status.PASS, "not-is-json")
