"""What the rule graders share: params base classes, templated values, output text/JSON."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, StrictFloat, StrictInt, model_validator

from evalkit.records import Case, TargetOutput

# YAML booleans must not pass for numbers (`max: true` is a mistake, not 1).
Number = StrictFloat | StrictInt


class Params(BaseModel):
    """Base of every rule grader's params: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


@functools.cache
def _jinja() -> Any:
    # Imported lazily: most suites have no templated grader values, and the CLI starts faster.
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


Render = Callable[[dict[str, Any]], Any]


def _has_template(raw: Any) -> bool:
    if isinstance(raw, str):
        return "{{" in raw
    if isinstance(raw, list):
        return any(_has_template(item) for item in raw)
    if isinstance(raw, dict):
        return any(_has_template(item) for item in raw.values())
    return False


def _compile(raw: Any) -> Render:
    """A function of the case vars that rebuilds `raw` with every `{{ }}` string rendered."""
    if isinstance(raw, str) and "{{" in raw:
        from jinja2 import TemplateSyntaxError

        try:
            template = _jinja().from_string(raw)
        except TemplateSyntaxError as exc:
            # A grade of status error, as promptfoo's Nunjucks error is: a value such as
            # "{{" may be meant literally by a ported suite, and its other graders still run.
            problem = f"template {raw!r}: {exc.message} (line {exc.lineno})"

            def broken(names: dict[str, Any]) -> Any:
                raise ValueError(problem)

            return broken
        return template.render  # type: ignore[no-any-return]
    if isinstance(raw, list):
        parts = [_compile(item) for item in raw]
        return lambda names: [part(names) for part in parts]
    if isinstance(raw, dict):
        fields = {key: _compile(item) for key, item in raw.items()}
        return lambda names: {key: part(names) for key, part in fields.items()}
    return lambda names: raw


class Value:
    """A grader's comparison value, templates compiled once; an omitted value means the
    case's expected (an explicit `value: null` is JSON null, as in promptfoo)."""

    __slots__ = ("_explicit", "_raw", "_render")

    def __init__(self, raw: Any, *, explicit: bool = False) -> None:
        self._raw = raw
        self._explicit = explicit
        self._render = _compile(raw) if _has_template(raw) else None

    @property
    def uses_expected(self) -> bool:
        """True when the value comes from `case.expected`."""
        return self._raw is None and not self._explicit

    def get(self, case: Case) -> Any:
        """The value for this case: rendered with its vars, or its expected answer."""
        if self._render is not None:
            return self._render(case.vars)
        return case.expected if self.uses_expected else self._raw


class Compared(Params):
    """Params of a grader that compares the output against `value` (else `case.expected`)."""

    value: Any = None
    _value: Value = PrivateAttr()

    @model_validator(mode="after")
    def _compile_value(self) -> Compared:
        self._value = Value(self.value, explicit="value" in self.model_fields_set)
        return self

    def target_value(self, case: Case) -> Any:
        """`value`, rendered for this case, or the case's `expected`."""
        return self._value.get(case)

    def check_case(self, case: Case) -> str | None:
        """Why this grader cannot grade `case`, found when it is bound (None: it can)."""
        if self._value.uses_expected and case.expected is None:
            return "needs a `value:` or the case's `expected:`"
        return None


def text_of(output: TargetOutput) -> str:
    """The output as text; structured data (with no text) as its JSON text."""
    if output.text is not None:
        return output.text
    if output.data is not None:
        return json.dumps(output.data, ensure_ascii=False)
    return ""


class NotJson(ValueError):
    """The output could not be read as JSON; graders turn this into a failed grade."""


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*[ \t]*\n(.*?)\n?```$", re.DOTALL)


def json_of(output: TargetOutput, *, fenced_ok: bool = True) -> Any:
    """The output as a JSON value: structured data if the target returned any, else parsed text.

    A reply that is exactly one Markdown code fence is read inside the fence unless
    `fenced_ok` is False (`is-json` asks whether the text itself is JSON).
    """
    if output.data is not None:
        return output.data
    text = (output.text or "").strip()
    fence = _FENCE.match(text) if fenced_ok else None
    candidate = fence.group(1) if fence else text
    try:
        return json.loads(candidate)
    except ValueError as exc:
        raise NotJson(f"output is not JSON ({exc}): {clip(text)}") from None


@functools.lru_cache(maxsize=2048)
def parse_json_text(text: str) -> Any:
    """json.loads for expected values, cached: the same expected string recurs every trial."""
    return json.loads(text)


def looks_json(text: str) -> bool:
    """Whether an expected string is meant as JSON (an object or array)."""
    head = text.lstrip()[:1]
    return head in ("{", "[")


def same(a: Any, b: Any) -> bool:
    """JSON equality that, unlike ==, keeps true apart from 1 and false from 0."""
    return first_difference(a, b) is None


def first_difference(actual: Any, expected: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ, said for a reason; None when equal."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {kind(actual)}"
        for key, item in expected.items():
            if key not in actual:
                return f"{path}: missing key {key!r}"
            found = first_difference(actual[key], item, f"{path}.{key}")
            if found:
                return found
        extra = [key for key in actual if key not in expected]
        return f"{path}: unexpected key {extra[0]!r}" if extra else None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected an array, got {kind(actual)}"
        if len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {len(actual)}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            found = first_difference(got, want, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        equal = isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    else:
        equal = actual == expected
    return None if equal else f"{path}: expected {clip(expected)}, got {clip(actual)}"


def kind(value: Any) -> str:
    """A JSON type name for a Python value, for reasons."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def clip(value: Any, limit: int = 80) -> str:
    """A short repr for reasons: long model outputs must not flood the report."""
    if isinstance(value, str):
        return shorten(repr(value[: limit * 4]), limit)
    try:
        return shorten(json.dumps(value, ensure_ascii=False, default=str), limit)
    except (RecursionError, ValueError):
        return f"<{kind(value)} nested too deeply to show>"


def shorten(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
