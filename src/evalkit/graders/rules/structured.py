"""JSON rule graders: is-json, contains-json, json-schema, json-field.

When the target returned structured data (`output.data`), these graders read it
directly; otherwise they parse the output text.
"""

from __future__ import annotations

import json
import re
from itertools import islice
from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from evalkit.graders.base import Score, grader
from evalkit.graders.rules._common import (
    NotJson,
    Params,
    Value,
    clip,
    first_difference,
    json_of,
    kind,
    same,
    shorten,
)
from evalkit.graders.rules._jsonpath import PathMissing, Step, parse_path, walk
from evalkit.graders.rules.safe_regex import SafePattern
from evalkit.records import Case, TargetOutput

_SHOWN_ERRORS = 3  # a reason lists the first few schema errors, not hundreds


def compile_schema(schema: Any) -> Any:
    """A jsonschema validator for `schema` (a mapping or its JSON text), checked once."""
    # Imported here: jsonschema is slow to import and most suites never need it.
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise ValueError(f"the schema is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ValueError(f"the schema must be an object, got {kind(schema)}")
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON schema at {exc.json_path}: {exc.message}") from None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_problems(validator: Any, instance: Any) -> str | None:
    """The first schema errors with their JSON paths, or None when `instance` is valid."""
    errors = list(islice(validator.iter_errors(instance), _SHOWN_ERRORS + 1))
    if not errors:
        return None
    shown = "; ".join(f"{error.json_path}: {shorten(error.message, 120)}" for error in errors[:3])
    more = " (and more)" if len(errors) > _SHOWN_ERRORS else ""
    return f"schema errors: {shown}{more}"


class SchemaParams(Params):
    """`value`: an optional JSON schema (a mapping, or its JSON text) the JSON must satisfy."""

    value: dict[str, Any] | str | None = None
    _validator: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile_schema(self) -> SchemaParams:
        if self.value is not None:
            self._validator = compile_schema(self.value)
        return self


def _judge(value: Any, params: SchemaParams, found: str) -> Score:
    if params._validator is None:
        return Score(1.0, reason=found)
    problems = schema_problems(params._validator, value)
    if problems:
        return Score(0.0, reason=f"{found}, but {problems}")
    return Score(1.0, reason=f"{found}, valid against the schema")


@grader("is-json", params=SchemaParams)
def is_json(output: TargetOutput, case: Case, params: SchemaParams) -> Score:
    """The whole output is JSON (a code fence around it is not), optionally matching a schema."""
    try:
        value = json_of(output, fenced_ok=False)
    except NotJson as exc:
        return Score(0.0, reason=str(exc))
    return _judge(value, params, f"output is JSON ({kind(value)})")


def find_json(text: str) -> tuple[Any, int] | None:
    """The first JSON object or array embedded in `text`, with its offset."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        return value, match.start()
    return None


@grader("contains-json", params=SchemaParams)
def contains_json(output: TargetOutput, case: Case, params: SchemaParams) -> Score:
    """The output contains a JSON object or array, optionally matching a schema."""
    if output.data is not None:
        return _judge(output.data, params, f"structured output ({kind(output.data)})")
    text = output.text or ""
    found = find_json(text)
    if found is None:
        return Score(0.0, reason=f"no JSON object or array in output: {clip(text)}")
    value, offset = found
    return _judge(value, params, f"found JSON {kind(value)} at {offset}")


class JsonSchemaParams(SchemaParams):
    """`value`: the JSON schema (required)."""

    value: dict[str, Any] | str


@grader("json-schema", params=JsonSchemaParams)
def json_schema(output: TargetOutput, case: Case, params: JsonSchemaParams) -> Score:
    """The output's JSON satisfies the schema in `value`; the reason lists the first errors."""
    try:
        value = json_of(output)
    except NotJson as exc:
        return Score(0.0, reason=str(exc))
    problems = schema_problems(params._validator, value)
    if problems:
        return Score(0.0, reason=problems)
    return Score(1.0, reason="valid against the schema")


class JsonFieldParams(Params):
    """`path` into the JSON, and what the value there must be (every check given must hold).

    `equals` (also `value:`), `contains` (a substring, or an element of an array),
    `one-of`, `matches` (a regex). With no check, the field must exist and not be null.
    A string check equals a number or boolean with the same JSON spelling, so templated
    values such as `"{{ id }}"` can match numeric fields.
    """

    path: str
    equals: Any = None
    contains: Any = None
    one_of: list[Any] | None = Field(default=None, alias="one-of")
    matches: str | None = None
    _steps: tuple[Step, ...] = PrivateAttr(default=())
    _equals: Value | None = PrivateAttr(default=None)
    _contains: Value | None = PrivateAttr(default=None)
    _one_of: Value | None = PrivateAttr(default=None)
    _matches: SafePattern | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _prepare(self) -> JsonFieldParams:
        self._steps = parse_path(self.path)
        # Value(None) would fall back to case.expected; these checks are opt-in instead.
        self._equals = Value(self.equals) if self.equals is not None else None
        self._contains = Value(self.contains) if self.contains is not None else None
        self._one_of = Value(self.one_of) if self.one_of is not None else None
        if self.matches is not None:
            try:
                self._matches = SafePattern(self.matches)  # searched within a time budget
            except re.error as exc:
                raise ValueError(f"`matches` {self.matches!r} is not a regex: {exc}") from None
        return self


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, int | float | bool):
        return json.dumps(actual) == expected
    return same(actual, expected)


def _field_problem(actual: Any, case: Case, params: JsonFieldParams) -> str | None:
    """What is wrong with the value at the path (None: nothing)."""
    if params._equals is not None:
        expected = params._equals.get(case)
        if not _equal(actual, expected):
            # first_difference names the spot, inside the field when the value is nested.
            found = first_difference(actual, expected, params.path)
            return found or f"{params.path}: not {clip(expected)}"
    problem = _check_problem(actual, case, params)
    return f"{params.path}: {problem}" if problem else None


def _check_problem(actual: Any, case: Case, params: JsonFieldParams) -> str | None:
    if params._contains is not None:
        needle = params._contains.get(case)
        if isinstance(actual, str):
            if str(needle) not in actual:
                return f"{clip(actual)} does not contain {clip(needle)}"
        elif isinstance(actual, list):
            if not any(_equal(item, needle) for item in actual):
                return f"array of {len(actual)} has no item {clip(needle)}"
        else:
            return f"is {kind(actual)}, so it cannot contain {clip(needle)}"
    if params._one_of is not None:
        options = params._one_of.get(case)
        if not any(_equal(actual, option) for option in options):
            return f"{clip(actual)} is not one of {clip(options)}"
    if params._matches is not None:
        text = actual if isinstance(actual, str) else json.dumps(actual, ensure_ascii=False)
        if params._matches.search(text) is None:
            return f"{clip(actual)} does not match /{params._matches.pattern}/"
    return None


@grader("json-field", params=JsonFieldParams, value_field="equals")
def json_field(output: TargetOutput, case: Case, params: JsonFieldParams) -> Score:
    """The value at `path` in the output's JSON passes the given checks."""
    try:
        actual = walk(json_of(output), params._steps)
    except NotJson as exc:
        return Score(0.0, reason=str(exc))
    except PathMissing as exc:
        return Score(0.0, reason=f"{params.path}: {exc}")
    no_checks = all(
        check is None
        for check in (params._equals, params._contains, params._one_of, params._matches)
    )
    if no_checks and actual is None:
        return Score(0.0, reason=f"{params.path} is null")
    problem = _field_problem(actual, case, params)
    if problem:
        return Score(0.0, reason=problem)
    return Score(1.0, reason=f"{params.path} = {clip(actual)}")
