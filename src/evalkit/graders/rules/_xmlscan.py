"""Where XML fragments sit in a reply, found as promptfoo's contains-xml finds them.

A scan over `<...>` tags keeps a stack of open elements: a closing tag that matches
the innermost open one makes a candidate (the element), a self-closing tag is one by
itself, and a mismatch forgets everything open. Sibling candidates are also tried as
one run (`<a/><b/>`), outermost elements first.
"""

from __future__ import annotations

from dataclasses import dataclass


def _name_start(char: str) -> bool:
    point = ord(char)
    return (
        char in ":_"
        or "A" <= char <= "Z"
        or "a" <= char <= "z"
        or 0xC0 <= point <= 0xD6
        or 0xD8 <= point <= 0xF6
        or 0xF8 <= point <= 0x2FF
        or 0x370 <= point <= 0x37D
        or 0x37F <= point <= 0x1FFF
        or 0x200C <= point <= 0x200D
        or 0x2070 <= point <= 0x218F
        or 0x2C00 <= point <= 0x2FEF
        or 0x3001 <= point <= 0xD7FF
        or 0xF900 <= point <= 0xFDCF
        or 0xFDF0 <= point <= 0xFFFD
        or 0x10000 <= point <= 0xEFFFF
    )


def _name_char(char: str) -> bool:
    point = ord(char)
    return (
        _name_start(char)
        or char in "-.0123456789\u00b7"
        or 0x300 <= point <= 0x36F
        or 0x203F <= point <= 0x2040
    )


def _read_name(text: str, start: int) -> int | None:
    """The end of an XML name starting at `start`, or None."""
    if start >= len(text) or not _name_start(text[start]):
        return None
    end = start + 1
    while end < len(text) and _name_char(text[end]):
        end += 1
    return end


def _tag_end(text: str, start: int) -> int:
    quote = ""
    for at in range(start + 1, len(text)):
        char = text[at]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "<":
            return -1
        elif char == ">":
            return at
    return -1


def _delimited_end(text: str, start: int, delimiter: str) -> int:
    found = text.find(delimiter, start)
    return len(text) - 1 if found == -1 else found + len(delimiter) - 1


def _declaration_end(text: str, start: int) -> int:
    if text.startswith("<!--", start):
        return _delimited_end(text, start + 4, "-->")
    if text.startswith("<![CDATA[", start):
        return _delimited_end(text, start + 9, "]]>")
    quote, depth = "", 0
    for at in range(start + 2, len(text)):
        char = text[at]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]" and depth > 0:
            depth -= 1
        elif char == ">" and depth == 0:
            return at
    return len(text) - 1


@dataclass(slots=True)
class _Candidate:
    start: int
    end: int
    parent: int | None


def xml_candidates(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of candidate XML fragments, in the order promptfoo tries them."""
    stack: list[tuple[str, int]] = []
    found: list[_Candidate] = []
    at = 0
    while at < len(text):
        if text[at] != "<" or at + 1 >= len(text):
            at += 1
            continue
        following = text[at + 1]
        if following in "!?":
            end = (
                _declaration_end(text, at)
                if following == "!"
                else _delimited_end(text, at + 2, "?>")
            )
            at = end + 1
            continue
        closing = following == "/"
        name_end = _read_name(text, at + 2 if closing else at + 1)
        end = _tag_end(text, at) if name_end is not None else -1
        if name_end is None or end == -1:
            at += 1
            continue
        name = text[at + 2 if closing else at + 1 : name_end]
        parent = stack[-1][1] if stack else None
        if closing:
            if stack and stack[-1][0] == name:
                _, opened = stack.pop()
                found.append(_Candidate(opened, end + 1, stack[-1][1] if stack else None))
            else:
                stack.clear()
        elif text[at:end].rstrip().endswith("/"):
            found.append(_Candidate(at, end + 1, parent))
        else:
            stack.append((name, at))
        at = end + 1
    return _ordered(found)


def _ordered(found: list[_Candidate]) -> list[tuple[int, int]]:
    starts = {candidate.start for candidate in found}
    ordered: list[tuple[int, int]] = []
    by_parent: dict[int | None, list[_Candidate]] = {}
    for candidate in found:
        by_parent.setdefault(candidate.parent, []).append(candidate)
    for parent, siblings in by_parent.items():
        if len(siblings) <= 1 or (parent is not None and parent in starts):
            continue
        siblings.sort(key=lambda c: (c.start, c.end))
        span = (siblings[0].start, siblings[-1].end)
        if span not in ordered:
            ordered.append(span)
    outermost = sorted(
        (c for c in found if c.parent is None or c.parent not in starts),
        key=lambda c: (c.start, -c.end),
    )
    for candidate in outermost:
        span = (candidate.start, candidate.end)
        if span not in ordered:
            ordered.append(span)
    return ordered
