"""Cases as YAML text that reads well and loads back exactly (with evalkit's loader).

PyYAML's emitter quotes for YAML 1.1 and so writes `1e5` bare, which evalkit's YAML
1.2-style loader reads as a number; it also folds long strings. Here a string is plain
only when it is ordinary text that no YAML reader would turn into something else;
multi-line text becomes a literal block (`|`), and anything else is double-quoted with
escapes for every character a YAML reader would not keep as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any

INDENT = 2
_MAX_KEY = 1000
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _.,'()/?!&%+-]*")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Words YAML 1.1 readers (PyYAML, many editors' tools) would read as true/false/null.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
# Characters a YAML reader keeps as written inside a double-quoted or literal scalar.
_PRINTABLE = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# The complement of _PRINTABLE, plus the quote and backslash: what a quoted string escapes.
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]')
# What a literal block cannot hold: non-printables other than line feed and tab.
_NOT_LITERAL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def case_item(case: dict[str, Any], indent: int) -> str:
    """One case as a block-sequence item (`- id: ...`) whose dash is at column `indent`."""
    lines = _mapping(case, indent + INDENT)
    lines[0] = " " * indent + "- " + lines[0][indent + INDENT :]
    return "".join(line + "\n" for line in lines)


def document(mapping: dict[str, Any]) -> str:
    """A whole YAML document for a top-level mapping."""
    return "".join(line + "\n" for line in _mapping(mapping, 0))


def scalar(value: Any) -> str:
    """One value on one line: null, true/false, a number, or a (maybe quoted) string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written: suites hold finite numbers only")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _string(text: str) -> str:
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED:
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda found: _escape(found.group()), text) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if _PRINTABLE.fullmatch(char):
        return char
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        raise ValueError("a lone UTF-16 surrogate cannot be written to a UTF-8 YAML file")
    if point <= 0xFF:
        return f"\\x{point:02X}"
    if point <= 0xFFFF:
        return f"\\u{point:04X}"
    return f"\\U{point:08X}"


def _key(name: str) -> str:
    if _PLAIN_KEY.fullmatch(name) and name.lower() not in _RESERVED:
        return name
    return _quoted(name)


def _literal_ok(text: str) -> bool:
    """Whether `text` can be a literal block: several lines, nothing a reader would change."""
    if "\n" not in text or not text.strip():
        return False
    return _NOT_LITERAL.search(text) is None


def _literal(text: str, indent: int) -> tuple[str, list[str]]:
    """The `|` header and the content lines of a literal block at `indent`."""
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n") + [""] * (trailing - 1 if trailing > 1 else 0)
    first = next(line for line in lines if line.strip())
    # Without an explicit indentation the first line's own leading spaces would be
    # taken for indentation (and blank-looking lines before it would be an error).
    leading = lines[: lines.index(first) + 1]
    explicit = any(line[:1] in (" ", "\t") for line in leading)
    header = "|" + (str(INDENT) if explicit else "") + chomp
    pad = " " * indent
    return header, [pad + line if line else "" for line in lines]


def _mapping(mapping: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    if not mapping:
        return [pad + "{}"]
    lines: list[str] = []
    for name, value in mapping.items():
        key = _key(str(name))
        # YAML limits an implicit key to 1024 characters; longer ones are written `? key`.
        head = f"{pad}{key}:" if len(key) <= _MAX_KEY else f"{pad}? {key}\n{pad}:"
        lines.extend(_node(head, value, indent))
    return lines


def _sequence(items: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, dict) and item:
            inner = _mapping(item, indent + INDENT)
            lines.append(pad + "- " + inner[0][indent + INDENT :])
            lines.extend(inner[1:])
        else:
            lines.extend(_node(pad + "-", item, indent))
    return lines


def _node(head: str, value: Any, indent: int) -> list[str]:
    """`head` (a `key:` or a `-`) followed by `value`, inline or as an indented block."""
    if isinstance(value, dict) and value:
        return [head, *_mapping(value, indent + INDENT)]
    if isinstance(value, list) and value:
        return [head, *_sequence(value, indent + INDENT)]
    if isinstance(value, dict):
        return [head + " {}"]
    if isinstance(value, list):
        return [head + " []"]
    if isinstance(value, str) and _literal_ok(value):
        header, lines = _literal(value, indent + INDENT)
        return [f"{head} {header}", *lines]
    return [f"{head} {scalar(value)}"]
