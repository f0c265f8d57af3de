"""String rule graders: equality, substrings, prefixes, regular expressions, length.

Names follow promptfoo's assertion types so configs port over. Graders that compare
against something use `value:`, or the case's `expected:` when `value` is omitted.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import PrivateAttr, StrictBool, StrictFloat, StrictInt, model_validator

from evalkit.graders.base import Score, grader
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
    """`value` (else expected); `strip` the output's surrounding whitespace first."""

    ignore_case: StrictBool = False
    strip: StrictBool = True


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


@grader("equals", params=EqualsParams)
def equals(output: TargetOutput, case: Case, params: EqualsParams) -> Score:
    """Output equals `value` (else expected); JSON-ish expected values compare as parsed JSON."""
    structured, expected = _expected_json(params.target_value(case))
    if structured:
        try:
            actual = json_of(output)
        except NotJson as exc:
            return Score(0.0, reason=f"expected JSON {clip(expected)}; {exc}")
        difference = first_difference(actual, expected)
        return Score(1.0 if difference is None else 0.0, reason=difference or "equal JSON")
    text = text_of(output)
    if params.strip:
        text = text.strip()
    equal = text.casefold() == expected.casefold() if params.ignore_case else text == expected
    if equal:
        return Score(1.0, reason=f"output equals {clip(expected)}")
    return Score(0.0, reason=f"expected {clip(expected)}, got {clip(text)}")


class ContainsParams(Compared):
    """`value` (else expected): the substring to look for (a number means its digits)."""

    value: str | StrictInt | StrictFloat | None = None


def _needle(params: Compared, case: Case) -> str:
    value = params.target_value(case)
    return value if isinstance(value, str) else str(value)


def _contains(output: TargetOutput, case: Case, params: ContainsParams, fold: bool) -> Score:
    needle = _needle(params, case)
    text = text_of(output)
    found = needle.casefold() in text.casefold() if fold else needle in text
    if found:
        return Score(1.0, reason=f"found {clip(needle)}")
    return Score(0.0, reason=f"{clip(needle)} not found in output ({len(text)} chars)")


@grader("contains", params=ContainsParams)
def contains(output: TargetOutput, case: Case, params: ContainsParams) -> Score:
    """Output contains `value` (else expected), case-sensitive."""
    return _contains(output, case, params, fold=False)


@grader("icontains", params=ContainsParams)
def icontains(output: TargetOutput, case: Case, params: ContainsParams) -> Score:
    """Output contains `value` (else expected), ignoring case."""
    return _contains(output, case, params, fold=True)


class ManyParams(Compared):
    """`value` (else expected): a list, or a comma-separated string as in promptfoo."""

    value: list[Any] | str | None = None


def _needles(params: ManyParams, case: Case) -> list[str]:
    value = params.target_value(case)
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        items = [item if isinstance(item, str) else str(item) for item in value]
    else:
        items = [str(value)]
    needles = [item for item in items if item]
    if not needles:
        raise ValueError("no values to look for (the list is empty)")
    return needles


def _found(output: TargetOutput, needles: list[str], fold: bool) -> list[bool]:
    text = text_of(output)
    if fold:
        text = text.casefold()
        return [needle.casefold() in text for needle in needles]
    return [needle in text for needle in needles]


def _quoted(items: list[str]) -> str:
    return ", ".join(clip(item, 40) for item in items)


def _any(output: TargetOutput, case: Case, params: ManyParams, fold: bool) -> Score:
    needles = _needles(params, case)
    hits = [needle for needle, ok in zip(needles, _found(output, needles, fold), strict=True) if ok]
    if hits:
        return Score(1.0, reason=f"found {_quoted(hits)} ({len(hits)} of {len(needles)})")
    return Score(0.0, reason=f"none of {len(needles)} found: {_quoted(needles)}")


def _all(output: TargetOutput, case: Case, params: ManyParams, fold: bool) -> Score:
    needles = _needles(params, case)
    found = _found(output, needles, fold)
    missing = [needle for needle, ok in zip(needles, found, strict=True) if not ok]
    score = (len(needles) - len(missing)) / len(needles)
    if not missing:
        return Score(1.0, passed=True, reason=f"found all {len(needles)}")
    reason = f"missing {len(missing)} of {len(needles)}: {_quoted(missing)}"
    return Score(score, passed=False, reason=reason)


@grader("contains-any", params=ManyParams)
def contains_any(output: TargetOutput, case: Case, params: ManyParams) -> Score:
    """Output contains at least one of the values (else expected), case-sensitive."""
    return _any(output, case, params, fold=False)


@grader("icontains-any", params=ManyParams)
def icontains_any(output: TargetOutput, case: Case, params: ManyParams) -> Score:
    """Output contains at least one of the values (else expected), ignoring case."""
    return _any(output, case, params, fold=True)


@grader("contains-all", params=ManyParams)
def contains_all(output: TargetOutput, case: Case, params: ManyParams) -> Score:
    """Output contains every value (else expected); score is the fraction found.

    It passes only when all are found, unless the user sets `threshold:` (then the
    fraction found must reach it).
    """
    return _all(output, case, params, fold=False)


@grader("icontains-all", params=ManyParams)
def icontains_all(output: TargetOutput, case: Case, params: ManyParams) -> Score:
    """Like contains-all, ignoring case."""
    return _all(output, case, params, fold=True)


@grader("starts-with", params=ContainsParams)
def starts_with(output: TargetOutput, case: Case, params: ContainsParams) -> Score:
    """Output (leading whitespace ignored) starts with `value` (else expected)."""
    prefix = _needle(params, case)
    text = text_of(output).lstrip()
    if text.startswith(prefix):
        return Score(1.0, reason=f"starts with {clip(prefix)}")
    return Score(0.0, reason=f"expected start {clip(prefix)}, got {clip(text[: len(prefix) + 20])}")


@grader("ends-with", params=ContainsParams)
def ends_with(output: TargetOutput, case: Case, params: ContainsParams) -> Score:
    """Output (trailing whitespace ignored) ends with `value` (else expected)."""
    suffix = _needle(params, case)
    text = text_of(output).rstrip()
    if text.endswith(suffix):
        return Score(1.0, reason=f"ends with {clip(suffix)}")
    tail = text[-(len(suffix) + 20) :]
    return Score(0.0, reason=f"expected end {clip(suffix)}, got {clip(tail)}")


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "a": re.ASCII}


class RegexParams(Compared):
    """`value` (else expected): the pattern, searched anywhere; `flags`: letters of 'imsxa'."""

    value: str | None = None
    flags: str = ""
    _flags: int = PrivateAttr(default=0)
    _pattern: SafePattern | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile_pattern(self) -> RegexParams:
        unknown = sorted(set(self.flags) - set(_FLAGS))
        if unknown:
            raise ValueError(f"unknown regex flag(s) {''.join(unknown)!r}; use letters of 'imsxa'")
        for letter in self.flags:
            self._flags |= _FLAGS[letter]
        if self.value is not None and "{{" not in self.value:
            self._pattern = _regex(self.value, self._flags)
        return self

    def pattern(self, case: Case) -> SafePattern:
        """The compiled pattern: once at bind time unless it is templated or from expected."""
        if self._pattern is not None:
            return self._pattern
        return _regex(_needle(self, case), self._flags)  # re caches recent compilations


def _regex(pattern: str, flags: int) -> SafePattern:
    return compile_pattern(pattern, flags)  # searched within a time budget


@grader("regex", params=RegexParams)
def regex(output: TargetOutput, case: Case, params: RegexParams) -> Score:
    """Output matches the regular expression `value` (else expected) anywhere."""
    pattern = params.pattern(case)
    text = text_of(output)
    match = pattern.search(text)
    if match:
        return Score(1.0, reason=f"matched {clip(match.text, 60)} at {match.start}")
    return Score(0.0, reason=f"no match for /{pattern.pattern}/ in output ({len(text)} chars)")


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
    size = len(text.split()) if params.unit == "words" else len(text)
    if params.min is not None and size < params.min:
        return Score(0.0, reason=f"{size} {params.unit} (min {params.min})")
    if params.max is not None and size > params.max:
        return Score(0.0, reason=f"{size} {params.unit} (max {params.max})")
    low = params.min if params.min is not None else 0
    bounds = f"{low}..{params.max if params.max is not None else '∞'}"
    return Score(1.0, reason=f"{size} {params.unit} (within {bounds})")
