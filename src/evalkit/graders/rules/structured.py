"""JSON rule graders: is-json, contains-json, json-schema, json-field.

When the target returned structured data (`output.data`), these graders read it
directly; otherwise they parse the output text.
"""

from __future__ import annotations

import json
import math
import re
from itertools import islice
from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from evalkit.graders.base import Invalid, Score, grader
from evalkit.graders.rules import _jsonparse
from evalkit.graders.rules._ajvstrict import strict_problem
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
from evalkit.graders.rules._js import output_string
from evalkit.graders.rules._jsonextract import TooMuchWork, iter_json_objects, load_yaml
from evalkit.graders.rules._jsonpath import PathMissing, Step, parse_path, walk
from evalkit.graders.rules._schema_regex import budget_schema_regexes
from evalkit.graders.rules.safe_regex import SafePattern
from evalkit.records import Case, TargetOutput

_SHOWN_ERRORS = 3  # a reason lists the first few schema errors, not hundreds


def compile_schema(schema: Any) -> Any:
    """A jsonschema validator for `schema` (a mapping or its JSON text), checked once."""
    # Imported here: jsonschema is slow to import and most suites never need it.
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    budget_schema_regexes()

    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise ValueError(f"the schema is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ValueError(f"the schema must be an object, got {kind(schema)}")
    from jsonschema.validators import Draft7Validator

    # Without `$schema`, draft 7: the draft promptfoo's validator (ajv) assumes.
    cls = validator_for(schema, default=Draft7Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"invalid JSON schema at {exc.json_path}: {exc.message}") from None
    return cls(schema, format_checker=_format_checker(cls))


# ajv-formats' email rule (the one promptfoo applies): a dotted domain is required.
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
    re.IGNORECASE,
)


def _format_checker(cls: Any) -> Any:
    """The validator's format checker with ajv-formats' stricter email rule."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    checker.checks("email")(lambda value: not isinstance(value, str) or bool(_EMAIL.match(value)))
    return checker


def schema_problems(validator: Any, instance: Any) -> str | None:
    """The first schema errors with their JSON paths, or None when `instance` is valid."""
    errors = list(islice(validator.iter_errors(instance), _SHOWN_ERRORS + 1))
    if not errors:
        return None
    shown = "; ".join(f"{error.json_path}: {shorten(error.message, 120)}" for error in errors[:3])
    more = " (and more)" if len(errors) > _SHOWN_ERRORS else ""
    return f"schema errors: {shown}{more}"


class SchemaParams(Params):
    """`value`: an optional JSON schema (a mapping, or its JSON/YAML text) the JSON must satisfy.

    As in promptfoo: a falsy value (`""`, `0`, `false`, null) means no schema, and a
    schema that does not compile (by Ajv's strict rules: unknown keywords and formats
    are errors) is a grade of status error once there is JSON to check, not a refused
    suite.
    """

    value: Any = None
    _validator: Any = PrivateAttr(default=None)
    _problem: str | None = PrivateAttr(default=None)
    _broken: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile_schema(self) -> SchemaParams:
        schema = self.value
        if schema is None or schema is False or schema == "" or _zero(schema):
            return self  # JavaScript-falsy: no schema
        try:
            if isinstance(schema, str) and ("{{" in schema or "{%" in schema):
                self._broken = _template_problem(schema)
            if isinstance(schema, str):
                schema = load_yaml(schema)
            elif not isinstance(schema, dict | list):
                raise ValueError("the schema must be a string or an object")
            if isinstance(schema, bool):
                schema = {} if schema else {"not": {}}
            if not isinstance(schema, dict):
                raise ValueError("schema must be object or boolean")
            problem = strict_problem(schema)
            if problem:
                raise ValueError(problem)
            self._validator = compile_schema(schema)
        except Exception as exc:
            self._problem = f"invalid JSON schema: {exc}"
        return self


def _template_problem(text: str) -> str | None:
    """Why the value does not compile as a template (promptfoo renders it first and its
    grade errors, whatever the output), or None."""
    from jinja2 import Environment, TemplateSyntaxError

    try:
        Environment().parse(text)
    except TemplateSyntaxError as exc:
        return f"template {clip(text)}: {exc.message}"
    return None


def _zero(value: Any) -> bool:
    """Whether `value` is a JavaScript-falsy number: 0, -0 or NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value == 0 or math.isnan(value)


def _judge(value: Any, params: SchemaParams, found: str) -> Score | Invalid:
    if params._problem is not None:
        return Invalid(params._problem)
    if params._validator is None:
        return Score(1.0, reason=found)
    problems = schema_problems(params._validator, value)
    if problems:
        return Score(0.0, reason=f"{found}, but {problems}")
    return Score(1.0, reason=f"{found}, valid against the schema")


@grader("is-json", params=SchemaParams, uses_threshold=False)
def is_json(output: TargetOutput, case: Case, params: SchemaParams) -> Score | Invalid:
    """The whole output is JSON as `JSON.parse` reads it (no NaN, no code fence, any
    depth), optionally matching a schema."""
    if params._broken:
        return Invalid(params._broken)
    text = output_string(output)
    try:
        value = _jsonparse.parse(text)
    except _jsonparse.JsonSyntaxError as exc:
        return Score(0.0, reason=f"output is not JSON ({exc}): {clip(text)}")
    return _judge(value, params, f"output is JSON ({kind(value)})")


@grader("contains-json", params=SchemaParams, uses_threshold=False)
def contains_json(output: TargetOutput, case: Case, params: SchemaParams) -> Score | Invalid:
    """The output contains a JSON object, read leniently as promptfoo reads it; with a
    schema, at least one of the objects found must satisfy it."""
    if params._broken:
        return Invalid(params._broken)
    text = output_string(output)
    count = 0
    problems = ""
    try:
        for value in iter_json_objects(text):
            count += 1
            if params._validator is None:  # no schema, or one that does not compile
                return _judge(value, params, "found a JSON object")
            problems = schema_problems(params._validator, value) or ""
            if not problems:
                return Score(1.0, reason="found a JSON object valid against the schema")
    except TooMuchWork as exc:
        return Invalid(str(exc))
    if not count:
        return Score(0.0, reason=f"no JSON object in output: {clip(text)}")
    return Score(0.0, reason=f"no JSON object of {count} is valid: {problems}")


class JsonSchemaParams(SchemaParams):
    """`value`: the JSON schema (required); a schema that does not compile is refused."""

    value: dict[str, Any] | str

    @model_validator(mode="after")
    def _refuse_bad_schema(self) -> JsonSchemaParams:
        if self._problem is not None:
            raise ValueError(self._problem)
        return self


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
