"""JavaScript regular expressions (`new RegExp(pattern)`) run on Python's `re`.

promptfoo's `regex` assertion compiles its value with JavaScript's RegExp and no
flags. The two dialects read many patterns differently: `$` matches before a final
newline in Python only, `.` excludes \\r, U+2028 and U+2029 in JavaScript only, `\\d`
`\\w` and `\\b` are ASCII in JavaScript, `\\s` includes U+FEFF there, `\\q` or `\\A` are
plain letters there but errors or anchors here, `(?<name>...)` is a named group there,
and `(?i)`, `(?P<n>...)`, `a++` are errors there. `translate` rewrites a JavaScript
pattern into the Python pattern that matches the same strings, and raises
`InvalidRegex` for patterns JavaScript refuses. Strings are matched in their UTF-16
form (`_js.utf16`) because a JavaScript pattern without the `u` flag sees an emoji as
two code units.
"""

from __future__ import annotations

import re

from evalkit.graders.rules._js import JS_SPACE_CLASS, JS_WHITESPACE, utf16


class InvalidRegex(ValueError):
    """JavaScript's RegExp would throw a SyntaxError for this pattern."""


_WORD = "A-Za-z0-9_"
_LINE_END = "\\n\\r\\u2028\\u2029"
_CLASS_ESCAPES = {
    "d": "0-9",
    "w": _WORD,
    "s": "".join(f"\\u{ord(ch):04x}" for ch in JS_WHITESPACE),
}
_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": JS_SPACE_CLASS,
    "S": "[^" + JS_SPACE_CLASS[1:],
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
_KEPT = set("tnvfr")
_QUANTIFIER = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_NAME = re.compile(r"<([A-Za-z_$][A-Za-z0-9_$]*)>")


def compile_js(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> re.Pattern[str]:
    """A compiled Python pattern for the JavaScript `pattern` (search it on `utf16(text)`)."""
    source = translate(utf16(pattern), multiline=multiline, dotall=dotall)
    try:
        return re.compile(source, re.IGNORECASE if ignore_case else 0)
    except (re.error, OverflowError, RecursionError) as exc:
        # Python refuses a few patterns JavaScript allows (variable-width lookbehind).
        raise InvalidRegex(f"{exc}") from None


def search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """`pattern.test(text)` in JavaScript terms: searched on the UTF-16 form of `text`."""
    return pattern.search(utf16(text))


def translate(pattern: str, *, multiline: bool = False, dotall: bool = False) -> str:
    """The Python spelling of a JavaScript pattern; InvalidRegex where JavaScript throws."""
    groups = _count_groups(pattern)
    named = bool(re.search(r"\(\?<[A-Za-z_$]", pattern))
    out: list[str] = []
    at = 0
    opened = 0  # capturing groups opened so far, to number them
    open_groups: list[int] = []  # the group number (0: not capturing) of each open group
    closed: set[int] = set()  # capturing groups already closed
    repeatable = False  # whether a quantifier may follow what was just written
    quantified = False  # whether the last item is a quantifier (a second one is an error)
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            letter = pattern[at + 1 : at + 2]
            piece, at = _escape(pattern, at, groups, named, closed)
            out.append(piece)
            # `\b` and `\B` are assertions: JavaScript refuses a quantifier after them
            repeatable, quantified = letter not in ("b", "B"), False
            continue
        if char == "[":
            piece, at = _char_class(pattern, at)
            out.append(piece)
            repeatable, quantified = True, False
            continue
        if char == "(":
            piece, at = _group_open(pattern, at)
            out.append(piece)
            if piece == "(" or piece.startswith("(?P<"):
                opened += 1
                open_groups.append(opened)
            else:
                open_groups.append(0)
            repeatable, quantified = False, False
            continue
        if char in "*+?" or (char == "{" and _QUANTIFIER.match(pattern, at)):
            if char == "?" and quantified and out and out[-1] != "?":
                out.append("?")  # lazy
                at += 1
                continue
            if not repeatable:
                raise InvalidRegex(f"nothing to repeat at position {at}")
            if char == "{":
                match = _QUANTIFIER.match(pattern, at)
                assert match is not None
                _check_range(match.group(0), at)
                out.append(match.group(0))
                at = match.end()
            else:
                out.append(char)
                at += 1
            repeatable, quantified = False, True
            continue
        if char == ".":
            out.append("[\\s\\S]" if dotall else f"[^{_LINE_END}]")
        elif char == "$":
            out.append(f"(?=[{_LINE_END}]|\\Z)" if multiline else "\\Z")
        elif char == "^":
            out.append(f"(?:(?<=[{_LINE_END}])|\\A)" if multiline else "\\A")
        elif char == ")":
            out.append(")")
            if open_groups:
                closed.add(open_groups.pop())
        elif char == "|":
            out.append("|")
        else:
            out.append(re.escape(char))  # `{`, `}`, `]` alone are literals in JavaScript
        at += 1
        repeatable = char not in "^$|"
        quantified = False
    return "".join(out)


def _check_range(quantifier: str, at: int) -> None:
    low, _, high = quantifier[1:-1].partition(",")
    if high and int(high) < int(low):
        raise InvalidRegex(f"numbers out of order in {{}} quantifier at position {at}")


def _count_groups(pattern: str) -> int:
    """How many capturing groups the pattern has (for reading `\\1` as a backreference)."""
    count = 0
    at = 0
    in_class = False
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            at += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(" and (not pattern.startswith("(?", at) or _NAME.match(pattern, at + 2)):
            count += 1
        at += 1
    return count


def _group_open(pattern: str, at: int) -> tuple[str, int]:
    if not pattern.startswith("(?", at):
        return "(", at + 1
    for kept in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
        if pattern.startswith(kept, at):
            return kept, at + len(kept)
    name = _NAME.match(pattern, at + 2)
    if name:
        return f"(?P<{name.group(1).replace('$', '_S_')}>", name.end()
    raise InvalidRegex(f"invalid group at position {at}")


def _escape(pattern: str, at: int, groups: int, named: bool, closed: set[int]) -> tuple[str, int]:
    """One `\\x` escape outside a character class."""
    if at + 1 >= len(pattern):
        raise InvalidRegex("\\ at end of pattern")
    char = pattern[at + 1]
    if char in _ESCAPES:
        return _ESCAPES[char], at + 2
    if char.isdigit() and char != "0":
        digits = re.match(r"[0-9]+", pattern[at + 1 :])
        assert digits is not None
        number = int(digits.group(0))
        if number <= groups:
            # A group that is still open or comes later matches the empty string in
            # JavaScript; Python refuses the reference.
            piece = f"(?:\\{number})" if number in closed else "(?:)"
            return piece, at + 1 + len(digits.group(0))
        # Annex B: not a group, so an octal escape (or the digit itself for 8 and 9).
        octal = re.match(r"[0-7]{1,3}", pattern[at + 1 :])
        if octal and int(octal.group(0), 8) <= 0o377:
            return re.escape(chr(int(octal.group(0), 8))), at + 1 + len(octal.group(0))
        return re.escape(char), at + 2
    if named and char == "k":
        name = _NAME.match(pattern, at + 2)
        if not name:
            raise InvalidRegex(f"invalid named reference at position {at}")
        return f"(?P={name.group(1).replace('$', '_S_')})", name.end()
    return _common_escape(pattern, at)


def _common_escape(pattern: str, at: int) -> tuple[str, int]:
    """Escapes read the same way inside and outside a class: \\t, \\x41, \\u0041, \\cJ, \\q."""
    char = pattern[at + 1]
    if char in _KEPT:
        return "\\" + char, at + 2
    if char == "0" and not pattern[at + 2 : at + 3].isdigit():
        return "\\x00", at + 2
    if char == "x" and _HEX2.match(pattern, at + 2):
        return "\\x" + pattern[at + 2 : at + 4], at + 4
    if char == "u" and _HEX4.match(pattern, at + 2):
        return "\\u" + pattern[at + 2 : at + 6], at + 6
    if char == "c" and pattern[at + 2 : at + 3].isascii() and pattern[at + 2 : at + 3].isalpha():
        return re.escape(chr(ord(pattern[at + 2]) % 32)), at + 3
    if char == "0":
        octal = re.match(r"[0-7]{1,3}", pattern[at + 1 :])
        assert octal is not None
        return re.escape(chr(int(octal.group(0), 8) & 0xFF)), at + 1 + len(octal.group(0))
    if char == "c":
        return "\\\\", at + 1  # `\c` without a letter is a backslash, then `c` is literal
    return re.escape(char), at + 2  # an identity escape: `\A` is "A" in JavaScript


def _char_class(pattern: str, at: int) -> tuple[str, int]:
    """A `[...]` class: `[]` matches nothing, `[^]` anything; escapes translated."""
    start = at
    at += 1
    negated = pattern.startswith("^", at)
    if negated:
        at += 1
    parts: list[str] = []
    while at < len(pattern) and pattern[at] != "]":
        char = pattern[at]
        if char == "\\":
            if at + 1 >= len(pattern):
                raise InvalidRegex("\\ at end of pattern")
            letter = pattern[at + 1]
            if letter in _CLASS_ESCAPES:
                parts.append(_CLASS_ESCAPES[letter])
                at += 2
            elif letter in "DWS":
                parts.append("\\" + letter)  # negated shorthands inside a class: kept
                at += 2
            elif letter == "b":
                parts.append("\\x08")
                at += 2
            elif letter == "-":
                parts.append("\\-")
                at += 2
            elif letter.isdigit() and letter != "0":
                octal = re.match(r"[0-7]{1,3}", pattern[at + 1 :])
                if octal:
                    parts.append(re.escape(chr(int(octal.group(0), 8) & 0xFF)))
                    at += 1 + len(octal.group(0))
                else:
                    parts.append(re.escape(letter))
                    at += 2
            else:
                piece, at = _common_escape(pattern, at)
                parts.append(piece)
        else:
            # `[`, `&`, `~`, `|` are escaped so Python never reads a nested set or set operation.
            parts.append("\\" + char if char in "[&~|^" else char)
            at += 1
    if at >= len(pattern):
        raise InvalidRegex(f"unterminated character class at position {start}")
    body = "".join(parts)
    _check_class_ranges(body, start)
    if not body:
        return ("[\\s\\S]" if negated else "(?!)"), at + 1
    return f"[{'^' if negated else ''}{body}]", at + 1


def _check_class_ranges(body: str, at: int) -> None:
    try:
        re.compile(f"[{body}]")
    except re.error as exc:
        if "bad character range" in str(exc):
            raise InvalidRegex(f"range out of order in character class at position {at}") from None
