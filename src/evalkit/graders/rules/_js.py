"""JavaScript semantics the promptfoo-compatible graders need, written in Python.

promptfoo's assertions are JavaScript: `String(value)`, `trim()`, `toLowerCase()`,
`split(/\\s+/)`, string lengths in UTF-16 code units and `util.isDeepStrictEqual`.
A suite ported from promptfoo must score the same here, so these helpers reproduce
those operations exactly where Python's built-ins differ (Python's `strip()` keeps
U+FEFF but removes U+001F and U+0085; `str(True)` is "True"; `str(1.0)` is "1.0").
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from evalkit.records import TargetOutput

# ECMAScript WhiteSpace and LineTerminator: what `trim()` removes and `\s` matches.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_WS_CLASS = "".join(f"\\u{ord(ch):04x}" for ch in JS_WHITESPACE)
JS_SPACE_CLASS = f"[{_WS_CLASS}]"  # `\s` as a Python character class
_WS_RUN = re.compile(f"[{_WS_CLASS}]+")


def trim(text: str) -> str:
    """`String.prototype.trim()`: strips exactly JavaScript's whitespace set."""
    return text.strip(JS_WHITESPACE)


def is_space(char: str) -> bool:
    """Whether one character matches JavaScript's `/\\s/`."""
    return char in JS_WHITESPACE


def words(text: str) -> list[str]:
    """`text.trim().split(/\\s+/).filter(w => w.length > 0)`, promptfoo's word split."""
    return [word for word in _WS_RUN.split(trim(text)) if word]


def lower(text: str) -> str:
    """`toLowerCase()`: full Unicode lowercase mapping (Python's lower(), not casefold())."""
    return text.lower()


def utf16(text: str) -> str:
    """`text` with every astral character as its two UTF-16 surrogates.

    JavaScript strings are sequences of UTF-16 code units: an emoji has length 2, is
    two edits away from nothing, and is two `.` in a regex. Working on this form gives
    Python the same counts.
    """
    if text.isascii() or max(text) <= "\uffff":
        return text
    out: list[str] = []
    for char in text:
        point = ord(char)
        if point > 0xFFFF:
            point -= 0x10000
            out.append(chr(0xD800 + (point >> 10)))
            out.append(chr(0xDC00 + (point & 0x3FF)))
        else:
            out.append(char)
    return "".join(out)


def utf16_len(text: str) -> int:
    """`text.length` in JavaScript: UTF-16 code units."""
    return len(text) + sum(1 for char in text if char > "\uffff")


def number_to_string(value: float | int) -> str:
    """`String(number)` (Number::toString): 1.0 is "1", 1e21 is "1e+21", -0 is "0"."""
    if isinstance(value, int):
        try:
            value = float(value)  # JavaScript numbers are doubles
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # The shortest round-trip digits (what JavaScript prints too), and where the point goes:
    # value = 0.DIGITS * 10**point.
    _, figures, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    point = len(figures) + exponent
    digits = "".join(map(str, figures)).rstrip("0")
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * (-point) + digits
    power = point - 1
    shown = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{shown}e{'+' if power >= 0 else '-'}{abs(power)}"


def to_string(value: Any) -> str:
    """`String(value)` for YAML/JSON data: true is "true", [1, null] is "1,"."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    if isinstance(value, list):
        # Array.prototype.join: null and undefined items become empty strings.
        return ",".join("" if item is None else to_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def stringify(value: Any) -> str:
    """`JSON.stringify(value)`: compact, numbers as JavaScript prints them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value) if isinstance(value, int) else value
        return "null" if not math.isfinite(number) else number_to_string(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quote(str(k))}:{stringify(v)}" for k, v in value.items()) + "}"
    return _quote(str(value))


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _quote(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        return _ESCAPES.get(char) or f"\\u{ord(char):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'


def output_string(output: TargetOutput) -> str:
    """promptfoo's `outputString`: the text, or structured output as `JSON.stringify` text."""
    if output.text is not None:
        return output.text
    if output.data is not None:
        return stringify(output.data)
    return ""


def deep_strict_equal(left: Any, right: Any) -> bool:
    """`util.isDeepStrictEqual` on JSON data: key order ignored, 1 is not true, -0 is not 0.

    Iterative, so hostile nesting cannot exhaust the stack.
    """
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            if type(a) is not type(b) or a != b:
                return False
        elif isinstance(a, int | float) and isinstance(b, int | float):
            if not _same_number(a, b):
                return False
        elif isinstance(a, str) or isinstance(b, str):
            if not (isinstance(a, str) and isinstance(b, str) and a == b):
                return False
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, dict) and isinstance(b, dict):
            if len(a) != len(b) or any(key not in b for key in a):
                return False
            pending.extend((a[key], b[key]) for key in a)
        else:
            return False
    return True


def _same_number(a: float | int, b: float | int) -> bool:
    """`Object.is` on two numbers, both taken as doubles."""
    try:
        x, y = float(a), float(b)
    except OverflowError:
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


class UnterminatedField(ValueError):
    """A comma-separated value with a quote that never closes (promptfoo throws)."""


def split_values(value: str) -> list[str]:
    """promptfoo's `parseCommaSeparatedValues`: CSV-style fields of a `contains-any` string.

    Fields are separated by commas; runs of commas and blank fields are skipped; an
    unquoted field is `trim()`med; a quoted field keeps its spaces and commas, with
    `""` or `\\"` for a quote and `\\\\` for a backslash.
    """
    fields: list[str] = []
    at, end = 0, len(value)
    while at < end:
        while at < end and (value[at] == "," or value[at] in JS_WHITESPACE):
            at += 1
        if at >= end:
            break
        if value[at] != '"':
            comma = value.find(",", at)
            stop = end if comma == -1 else comma
            fields.append(trim(value[at:stop]))
            at = stop
            continue
        at += 1
        field: list[str] = []
        closed = False
        while at < end:
            char = value[at]
            following = value[at + 1] if at + 1 < end else ""
            if char == "\\" and following in ('"', "\\"):
                field.append(following)
                at += 2
            elif char == '"' and following == '"':
                field.append('"')
                at += 2
            elif char == '"':
                at += 1
                closed = True
                break
            else:
                field.append(char)
                at += 1
        if not closed:
            raise UnterminatedField("unterminated quoted field in the comma-separated value")
        fields.append("".join(field))
        while at < end and value[at] in JS_WHITESPACE:
            at += 1
        if at < end and value[at] != ",":
            raise UnterminatedField("expected a comma after a quoted field")
    return fields


_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")


def to_number(value: Any) -> float:
    """`Number(value)` for strings, numbers, booleans and null; NaN when it is not a number."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if not isinstance(value, str):
        return math.nan
    text = trim(value)
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if _RADIX.fullmatch(text):
        return float(int(text, 0))
    return math.nan
