"""`JSON.parse`, exactly: what promptfoo's is-json, equals and contains-json accept.

Python's `json.loads` differs in three ways that change verdicts: it accepts `NaN`,
`Infinity` and `-Infinity`; it raises RecursionError on a few thousand nested
brackets that JavaScript parses; and it refuses integers over 4,300 digits. Numbers
come back as doubles, as in JavaScript (so 2**53 + 1 reads as 2**53 and -0 stays -0).
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable
from typing import Any

# The string scanner json.loads itself uses (C-accelerated); typeshed does not list it.
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class JsonSyntaxError(ValueError):
    """The text is not JSON as `JSON.parse` reads it."""


def _reject_constant(name: str) -> Any:
    raise JsonSyntaxError(f"{name} is not JSON")


def _double(text: str) -> float:
    return float(text)  # "1" * 5000 is Infinity in JavaScript too


def _integer(text: str) -> int | float:
    """A JSON integer as JavaScript holds it: exact below 2**53 (kept an int, for readable
    reasons), a double above it, and -0 kept negative."""
    if text == "-0":
        return -0.0
    return int(text) if len(text.lstrip("-")) <= 15 else float(text)


def parse(text: str) -> Any:
    """The value of `text` as `JSON.parse(text)` would return it; JsonSyntaxError if not JSON."""
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_int=_integer, parse_float=_double
        )
    except RecursionError:
        return _parse_deep(text)
    except ValueError as exc:  # JSONDecodeError, or a constant we refused
        raise JsonSyntaxError(str(exc)) from None


def is_json(text: str) -> bool:
    """Whether `JSON.parse(text)` succeeds."""
    try:
        parse(text)
    except JsonSyntaxError:
        return False
    return True


_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}


def _parse_deep(text: str) -> Any:
    """An iterative JSON parser for nesting too deep for the recursive one."""
    stack: list[Any] = []  # open containers; a dict is paired with its pending key
    keys: list[str | None] = []
    at = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    result: Any = None
    done = False
    while True:
        if at >= len(text):
            raise JsonSyntaxError("unexpected end of JSON input")
        char = text[at]
        value: Any
        closed = False
        if char == "{" or char == "[":
            container: Any = {} if char == "{" else []
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            closer = "}" if char == "{" else "]"
            if text.startswith(closer, at):
                value, at, closed = container, at + 1, True
            else:
                stack.append(container)
                keys.append(None)
                if char == "{":
                    at = _read_key(text, at, keys)
                continue
        elif char == '"':
            try:
                value, at = scanstring(text, at + 1, True)
            except ValueError as exc:
                raise JsonSyntaxError(str(exc)) from None
            closed = True
        else:
            match = _NUMBER.match(text, at)
            if match:
                number = match.group(0)
                value = _integer(number) if number.lstrip("-").isdigit() else float(number)
                at = match.end()
            else:
                word = next((w for w in _LITERALS if text.startswith(w, at)), None)
                if word is None:
                    raise JsonSyntaxError(f"unexpected {text[at]!r} at {at}")
                value, at = _LITERALS[word], at + len(word)
            closed = True
        # A value is complete: attach it, then close every container that ends here.
        while closed:
            if not stack:
                result, done = value, True
                break
            parent = stack[-1]
            if isinstance(parent, dict):
                parent[keys[-1]] = value
            else:
                parent.append(value)
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            closer = "}" if isinstance(parent, dict) else "]"
            if text.startswith(",", at):
                at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
                if isinstance(parent, dict):
                    at = _read_key(text, at, keys)
                closed = False
            elif text.startswith(closer, at):
                value = stack.pop()
                keys.pop()
                at += 1
            else:
                raise JsonSyntaxError(f"expected ',' or {closer!r} at {at}")
        if done:
            break
    if _SPACE.match(text, at).end() != len(text):  # type: ignore[union-attr]
        raise JsonSyntaxError(f"unexpected data after JSON at {at}")
    return result


def _read_key(text: str, at: int, keys: list[str | None]) -> int:
    """Read `"key" :` at `at` into the innermost pending key; returns where its value starts."""
    if not text.startswith('"', at):
        raise JsonSyntaxError(f"expected a property name at {at}")
    try:
        key, at = scanstring(text, at + 1, True)
    except ValueError as exc:
        raise JsonSyntaxError(str(exc)) from None
    at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
    if not text.startswith(":", at):
        raise JsonSyntaxError(f"expected ':' at {at}")
    keys[-1] = key
    return _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
