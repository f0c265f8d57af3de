"""promptfoo's `extractJsonObjects`: the JSON objects a `contains-json` reply holds.

promptfoo (0.121) reads objects leniently, and `contains-json` passes or fails on that
reading: at every `{` it counts braces (quotes ignored) to the point where they balance
(or closes them at the end of the text), turns `//` comments into YAML `#` comments,
and parses the span as a YAML flow mapping. So `{'a': 1}`, `{a: 1}`, `{"a": 1,}` and
even `{ y(); }` are objects, arrays are not (only their object items are), and a JSON
object with a `}` inside a string is not found. Work is bounded: a hostile output
raises `TooMuchWork` instead of hanging.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from evalkit.graders.rules._js import is_space

MAX_SPAN = 100_000  # promptfoo's limit on one candidate's length
_BUDGET = 1_000_000  # characters handed to the YAML parser per output, at most
# A lenient candidate with more braces than this is not read (JavaScript's YAML parser
# runs out of stack on such nesting too; PyYAML would spend seconds on it).
_MAX_BRACES = 1_000


class TooMuchWork(RuntimeError):
    """The output is too large or hostile to scan within the grader's budget."""


_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreLoader(_Loader):  # type: ignore[misc]
    """YAML 1.2 core scalars, as js-yaml reads them (`yes` is a string, not true)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 -- PyYAML's own class attribute


for _tag, _pattern, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("int", r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$", "-+0123456789"),
    ("float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
    ("float", r"^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$", "-+."),
]:
    _CoreLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )
_CoreLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def load_yaml(text: str) -> Any:
    """YAML text -> data with js-yaml's core types; yaml.YAMLError when it is not YAML."""
    return yaml.load(text, Loader=_CoreLoader)


def extract_json_objects(text: str) -> list[Any]:
    """Every object promptfoo's `extractJsonObjects` finds in `text`, in order."""
    return list(iter_json_objects(text))


def iter_json_objects(text: str) -> Iterator[Any]:
    """The objects of `extract_json_objects`, one at a time: a caller that needs only the
    first (contains-json without a schema) does not pay for the rest."""
    closers = _balance_points(text)
    budget = _BUDGET
    at = text.find("{")
    while at != -1:
        if at == len(text) - 1:
            break  # promptfoo's scan never tries a `{` that ends the text
        close = closers.get(at)
        limit = min(at + MAX_SPAN, len(text))
        if close is not None and close < limit:
            span, balanced = text[at : close + 1], True
        else:
            # unbalanced to the end (or to the size limit): close the open braces, as promptfoo does
            span = text[at:limit]
            span += "}" * (span.count("{") - span.count("}"))
            balanced = False
        budget -= len(span) + 500  # a YAML parse costs more than its length
        if budget < 0:
            raise TooMuchWork("output too large to scan for JSON objects")
        value = _lenient(span)
        if value is not None:
            yield value
            at = text.find("{", at + len(span) if balanced else limit)
            continue
        at = text.find("{", at + 1)


def _balance_points(text: str) -> dict[int, int]:
    """For each `{`, the index of the `}` where the count of braces from it balances."""
    points: dict[int, int] = {}
    open_at: list[int] = []
    for match in re.finditer(r"[{}]", text):
        if match.group(0) == "{":
            open_at.append(match.start())
        elif open_at:
            points[open_at.pop()] = match.start()
    return points


def _lenient(span: str) -> Any:
    """The span read as promptfoo's YAML fallback reads it, or None."""
    if span.count("{") > _MAX_BRACES:
        return None
    source = _slash_comments_to_hash(span).replace("\t", " ")
    if _LONE_INDICATOR.search(source):
        return None
    for attempt in (source, _EMPTY_KEY.sub(r"\1~:", _BARE_COLON.sub(": ", source))):
        try:
            value = load_yaml(attempt)
        except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
            continue
        return value if isinstance(value, dict | list) else None
    return None


# js-yaml refuses a bare `-` or `?` before `}` or `,` (`{a: -}`, `{?}`); PyYAML reads a string.
_LONE_INDICATOR = re.compile(r"(?:^|[\s{,:\[])[-?](?=[},\]])")
# js-yaml reads `{a:}` as {a: null} and `{: x}` as an empty (null) key; PyYAML refuses both.
_BARE_COLON = re.compile(r":(?=[},])")
_EMPTY_KEY = re.compile(r"([{,]\s*):(?=\s)")


def _slash_comments_to_hash(text: str) -> str:
    """promptfoo's `convertSlashCommentsToHash`: `//` outside quotes starts a `#` comment."""
    return "\n".join(_line_comment(line) for line in text.split("\n"))


def _escaped(line: str, at: int) -> bool:
    count = 0
    while at - 1 - count >= 0 and line[at - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def _line_comment(line: str) -> str:
    state = "normal"
    out: list[str] = []
    at = 0
    while at < len(line):
        char = line[at]
        following = line[at + 1] if at + 1 < len(line) else ""
        previous = line[at - 1] if at > 0 else ""
        if state == "normal":
            if char == "'" and not (previous.isascii() and previous.isalpha()):
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "/" and following == "/" and not _url_token(line, at):
                slashes = 2
                while at + slashes < len(line) and line[at + slashes] == "/":
                    slashes += 1
                return "".join(out) + "#" * (slashes // 2) + line[at + slashes :]
        elif state == "single":
            if (
                char == "'"
                and not _escaped(line, at)
                and not (following.isascii() and following.isalpha())
            ):
                state = "normal"
        elif char == '"' and not _escaped(line, at):
            state = "normal"
        out.append(char)
        at += 1
    return "".join(out)


def _url_token(line: str, at: int) -> bool:
    """Whether the `//` at `at` belongs to a URL scheme such as `http://`."""
    start = at
    while start > 0 and not is_space(line[start - 1]):
        start -= 1
    return "://" in line[start : at + 2]
