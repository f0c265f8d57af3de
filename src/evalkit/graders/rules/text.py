"""String rule graders: equality, substrings, prefixes, regular expressions, length.

Every grader whose name promptfoo also uses gives promptfoo's verdict by default, with
JavaScript's semantics (`String(value)`, `toLowerCase()`, `trim()`, RegExp): a config
ported from promptfoo scores the same. Friendlier behaviour is an explicit option
(`strip: true`, `casefold: true`, `json: true`). A value promptfoo refuses at grading
time (an empty `contains` value, a number for `starts-with`) is a grade of status
`error` here too. Graders that compare against something use `value:`, or the case's
`expected:` when `value` is omitted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StrictBool, StrictInt, model_validator

from evalkit.graders.base import Invalid, Score, grader
from evalkit.graders.rules import _js, _jsonparse, _jsregex
from evalkit.graders.rules._common import (
    Compared,
    NotJson,
    Params,
    clip,
    first_difference,
    json_of,
    looks_json,
    parse_json_text,
    text_of,
)
from evalkit.graders.rules.safe_regex import SafePattern, compile_pattern
from evalkit.records import Case, TargetOutput


class EqualsParams(Compared):
    """`value` (else expected). Options: `strip` surrounding whitespace, `ignore_case`
    (casefold), `json` (compare JSON-looking text and numbers as data)."""

    ignore_case: StrictBool = False
    strip: StrictBool = False
    json_: StrictBool = Field(default=False, alias="json")


def _expected_json(expected: Any) -> tuple[bool, Any]:
    """(True, parsed) when `expected` is meant as structured data rather than a plain string."""
    if not isinstance(expected, str):
        return True, expected
    if looks_json(expected):
        try:
            return True, parse_json_text(expected)
        except ValueError:
            pass  # "[citation needed]" is a plain string that happens to start with "["
    return False, expected


def _equals_json(output: TargetOutput, expected: Any) -> Score:
    structured, expected = _expected_json(expected)
    if not structured:
        return _equals_text(text_of(output).strip(), expected, fold=False)
    try:
        actual = json_of(output)
    except NotJson as exc:
        return Score(0.0, reason=f"expected JSON {clip(expected)}; {exc}")
    difference = first_difference(actual, expected)
    return Score(1.0 if difference is None else 0.0, reason=difference or "equal JSON")


def _equals_text(text: str, expected: str, *, fold: bool) -> Score:
    equal = text.casefold() == expected.casefold() if fold else text == expected
    if equal:
        return Score(1.0, reason=f"output equals {clip(expected)}")
    return Score(0.0, reason=f"expected {clip(expected)}, got {clip(text)}")


@grader("equals", params=EqualsParams, uses_threshold=False)
def equals(output: TargetOutput, case: Case, params: EqualsParams) -> Score:
    """Output equals `value` (else expected): `String(value) === output`, or for a mapping
    or list (or null) deep equality with the output parsed as JSON, as in promptfoo."""
    expected = params.target_value(case)
    if params.json_:
        return _equals_json(output, expected)
    text = _js.output_string(output)
    if isinstance(expected, dict | list) or expected is None:
        try:
            actual = _jsonparse.parse(text)
        except _jsonparse.JsonSyntaxError:
            return Score(0.0, reason=f"expected JSON {clip(expected)}; output is not JSON")
        if _js.deep_strict_equal(expected, actual):
            return Score(1.0, reason="equal JSON")
        found = first_difference(actual, expected)
        return Score(0.0, reason=found or f"expected {clip(expected)}, got {clip(text)}")
    if params.strip:
        text = text.strip()
    return _equals_text(text, _js.to_string(expected), fold=params.ignore_case)


class ContainsParams(Compared):
    """`value` (else expected): the substring (a number means its digits). Option for
    `icontains`: `casefold` (Unicode case folding: ß matches SS) instead of toLowerCase."""

    casefold: StrictBool = False


def _bad_value(name: str, what: str, value: Any) -> Invalid:
    return Invalid(f"{name}: the value must be {what}, got {clip(value)}")


def _single(value: Any) -> str | None:
    """promptfoo's contains value: a non-empty string or a number (not NaN)."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return _js.to_string(value)
    return None


def _fold(text: str, casefold: bool) -> str:
    return text.casefold() if casefold else _js.lower(text)


def _contains(
    name: str, output: TargetOutput, case: Case, params: ContainsParams, fold: bool
) -> Score | Invalid:
    needle = _single(params.target_value(case))
    if needle is None:
        return _bad_value(name, "a non-empty string or a number", params.target_value(case))
    text = _js.output_string(output)
    if fold:
        found = _fold(needle, params.casefold) in _fold(text, params.casefold)
    else:
        found = needle in text
    if found:
        return Score(1.0, reason=f"found {clip(needle)}")
    return Score(0.0, reason=f"{clip(needle)} not found in output ({len(text)} chars)")


@grader("contains", params=ContainsParams, uses_threshold=False)
def contains(output: TargetOutput, case: Case, params: ContainsParams) -> Score | Invalid:
    """Output contains `value` (else expected), case-sensitive."""
    return _contains("contains", output, case, params, fold=False)


@grader("icontains", params=ContainsParams, uses_threshold=False)
def icontains(output: TargetOutput, case: Case, params: ContainsParams) -> Score | Invalid:
    """Output contains `value` (else expected), ignoring case (JavaScript toLowerCase)."""
    return _contains("icontains", output, case, params, fold=True)


class ManyParams(Compared):
    """`value` (else expected): a list, or a comma-separated string with CSV-style quoting
    as in promptfoo. `casefold` for the icontains forms, as for icontains; `min_fraction`
    for the -all forms: pass when at least that share is found (default: all of them)."""

    casefold: StrictBool = False
    min_fraction: Annotated[float, Field(ge=0, le=1)] | None = None


def _needles(name: str, value: Any) -> list[str] | Invalid:
    """The values to look for, read as promptfoo reads them (an empty list is allowed)."""
    if isinstance(value, str) and value:
        try:
            return _js.split_values(value)
        except _js.UnterminatedField as exc:
            return Invalid(f"{name}: {exc}: {clip(value)}")
    if isinstance(value, list):
        return [_js.to_string(item) for item in value]
    return _bad_value(name, "a list or a comma-separated string", value)


def _found(output: TargetOutput, needles: list[str], fold: bool, casefold: bool) -> list[bool]:
    text = _js.output_string(output)
    if fold:
        text = _fold(text, casefold)
        return [_fold(needle, casefold) in text for needle in needles]
    return [needle in text for needle in needles]


def _quoted(items: list[str], shown: int = 8) -> str:
    listed = ", ".join(clip(item, 40) for item in items[:shown])
    return listed + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _any(
    name: str, output: TargetOutput, case: Case, params: ManyParams, fold: bool
) -> Score | Invalid:
    needles = _needles(name, params.target_value(case))
    if isinstance(needles, Invalid):
        return needles
    found = _found(output, needles, fold, params.casefold)
    hits = [needle for needle, ok in zip(needles, found, strict=True) if ok]
    if hits:
        return Score(1.0, reason=f"found {_quoted(hits)} ({len(hits)} of {len(needles)})")
    return Score(0.0, reason=f"none of {len(needles)} found: {_quoted(needles)}")


def _all(
    name: str, output: TargetOutput, case: Case, params: ManyParams, fold: bool
) -> Score | Invalid:
    needles = _needles(name, params.target_value(case))
    if isinstance(needles, Invalid):
        return needles
    found = _found(output, needles, fold, params.casefold)
    missing = [needle for needle, ok in zip(needles, found, strict=True) if not ok]
    if not missing:
        return Score(1.0, passed=True, reason=f"found all {len(needles)}")
    score = (len(needles) - len(missing)) / len(needles)
    passed = params.min_fraction is not None and score >= params.min_fraction
    reason = f"missing {len(missing)} of {len(needles)}: {_quoted(missing)}"
    return Score(score, passed=passed, reason=reason)


@grader("contains-any", params=ManyParams, uses_threshold=False)
def contains_any(output: TargetOutput, case: Case, params: ManyParams) -> Score | Invalid:
    """Output contains at least one of the values (else expected), case-sensitive."""
    return _any("contains-any", output, case, params, fold=False)


@grader("icontains-any", params=ManyParams, uses_threshold=False)
def icontains_any(output: TargetOutput, case: Case, params: ManyParams) -> Score | Invalid:
    """Output contains at least one of the values (else expected), ignoring case."""
    return _any("icontains-any", output, case, params, fold=True)


@grader("contains-all", params=ManyParams, uses_threshold=False)
def contains_all(output: TargetOutput, case: Case, params: ManyParams) -> Score | Invalid:
    """Output contains every value (else expected); score is the fraction found.

    It passes only when all are found (promptfoo ignores `threshold:` here, and so does
    evalkit), unless `min_fraction:` is set: then the fraction found must reach it.
    """
    return _all("contains-all", output, case, params, fold=False)


@grader("icontains-all", params=ManyParams, uses_threshold=False)
def icontains_all(output: TargetOutput, case: Case, params: ManyParams) -> Score | Invalid:
    """Like contains-all, ignoring case."""
    return _all("icontains-all", output, case, params, fold=True)


class AffixParams(Compared):
    """`value` (else expected); `strip`: ignore the output's surrounding whitespace."""

    strip: StrictBool = False


@grader("starts-with", params=AffixParams, uses_threshold=False)
def starts_with(output: TargetOutput, case: Case, params: AffixParams) -> Score | Invalid:
    """Output starts with `value` (else expected), a non-empty string as in promptfoo."""
    prefix = params.target_value(case)
    if not isinstance(prefix, str) or not prefix:
        return _bad_value("starts-with", "a non-empty string", prefix)
    text = _js.output_string(output)
    if params.strip:
        text = text.lstrip()
    if text.startswith(prefix):
        return Score(1.0, reason=f"starts with {clip(prefix)}")
    return Score(0.0, reason=f"expected start {clip(prefix)}, got {clip(text[: len(prefix) + 20])}")


@grader("ends-with", params=AffixParams)
def ends_with(output: TargetOutput, case: Case, params: AffixParams) -> Score | Invalid:
    """Output ends with `value` (else expected), a non-empty string (evalkit's own)."""
    suffix = params.target_value(case)
    if isinstance(suffix, int | float) and not isinstance(suffix, bool):
        suffix = _js.to_string(suffix)
    if not isinstance(suffix, str) or not suffix:
        return _bad_value("ends-with", "a non-empty string", suffix)
    text = _js.output_string(output)
    if params.strip:
        text = text.rstrip()
    if text.endswith(suffix):
        return Score(1.0, reason=f"ends with {clip(suffix)}")
    tail = text[-(len(suffix) + 20) :]
    return Score(0.0, reason=f"expected end {clip(suffix)}, got {clip(tail)}")


_FLAGS = frozenset("imsa")


class RegexParams(Compared):
    """`value` (else expected): a JavaScript pattern, searched anywhere (as promptfoo's
    `new RegExp(value)`); `flags`: letters of 'ims' (JavaScript's i, m, s)."""

    flags: str = ""
    _pattern: SafePattern | None = PrivateAttr(default=None)
    _problem: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile_pattern(self) -> RegexParams:
        unknown = sorted(set(self.flags) - _FLAGS)
        if unknown:
            raise ValueError(f"unknown regex flag(s) {''.join(unknown)!r}; use letters of 'ims'")
        if isinstance(self.value, str) and self.value and "{{" not in self.value:
            self._pattern, self._problem = self.compile(self.value)
        return self

    def compile(self, source: str) -> tuple[SafePattern | None, str | None]:
        """The pattern (searched within a time budget), or why JavaScript would refuse it."""
        try:
            pattern = _jsregex.compile_js(
                source,
                ignore_case="i" in self.flags,
                multiline="m" in self.flags,
                dotall="s" in self.flags,
            )
        except _jsregex.InvalidRegex as exc:
            return None, f"invalid regular expression /{source}/: {exc}"
        return compile_pattern(pattern.pattern, pattern.flags), None


@grader("regex", params=RegexParams, uses_threshold=False)
def regex(output: TargetOutput, case: Case, params: RegexParams) -> Score | Invalid:
    """Output matches the JavaScript regular expression `value` (else expected) anywhere.

    A pattern JavaScript cannot compile fails `regex` and `not-regex` alike, as in promptfoo.
    """
    source = params.target_value(case)
    if not isinstance(source, str) or not source:
        return _bad_value("regex", "a non-empty string", source)
    pattern, problem = params._pattern, params._problem
    if pattern is None and problem is None:
        pattern, problem = params.compile(source)
    if pattern is None:
        return Score(0.0, passed=False, reason=problem or "invalid pattern", final=True)
    text = _js.output_string(output)
    match = pattern.search(_js.utf16(text))  # JavaScript matches on UTF-16 code units
    if match:
        return Score(1.0, reason=f"matched {clip(match.text, 60)} at {match.start}")
    return Score(0.0, reason=f"no match for /{source}/ in output ({len(text)} chars)")


class LengthParams(Params):
    """`min` and/or `max`, counted in `unit`: chars (code points) or words (whitespace split)."""

    unit: Literal["chars", "words"] = "chars"
    min: StrictInt | None = None
    max: StrictInt | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> LengthParams:
        if self.min is None and self.max is None:
            raise ValueError("set `min`, `max` or both")
        if any(bound is not None and bound < 0 for bound in (self.min, self.max)):
            raise ValueError("`min` and `max` may not be negative")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is greater than `max` ({self.max})")
        return self


@grader("length", params=LengthParams, value_field=None)
def length(output: TargetOutput, case: Case, params: LengthParams) -> Score:
    """Output length in chars or words lies within `min`..`max`."""
    text = text_of(output)
    size = len(_js.words(text)) if params.unit == "words" else len(text)
    if params.min is not None and size < params.min:
        return Score(0.0, reason=f"{size} {params.unit} (min {params.min})")
    if params.max is not None and size > params.max:
        return Score(0.0, reason=f"{size} {params.unit} (max {params.max})")
    low = params.min if params.min is not None else 0
    bounds = f"{low}..{params.max if params.max is not None else '∞'}"
    return Score(1.0, reason=f"{size} {params.unit} (within {bounds})")
