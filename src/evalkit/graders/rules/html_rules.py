"""HTML rule graders, as promptfoo judges them: contains-html and is-html.

contains-html counts promptfoo's HTML indicators (its own regular expressions, run
with JavaScript semantics). is-html follows promptfoo's checks on an HTML5-style parse:
no text loose in the body (unless the reply writes its own <body>), and at least one
known HTML element (html/head/body only when written, not implied).
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any

from evalkit.graders.base import Score, grader
from evalkit.graders.rules import _js, _jsregex
from evalkit.graders.rules._common import Params
from evalkit.records import Case, TargetOutput

_MAX_INPUT = 10 * 1024 * 1024

_INDICATORS = [  # (JavaScript pattern, case-insensitive, weight)
    (r"<\/[a-zA-Z][a-zA-Z0-9-]*\s*>", False, 0),  # closing tag (paired with opening below)
    (r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);", False, 1),  # entity
    (r"<!DOCTYPE\s+html", True, 2),
    (r"<!--[^-]*(?:-[^-]+)*-->", False, 1),  # comment
    (r"\s[a-zA-Z-]+=\s*[\"'][^\"']*[\"']", False, 1),  # attribute
    (
        r"<(html|head|body|div|span|p|a|img|h[1-6]|ul|ol|li|table|tr|td|th|form|input|button"
        r"|script|style|link|meta|br|hr)\b",
        True,
        2,
    ),
]
_TAG_NAME = re.compile(r"<[a-zA-Z][a-zA-Z0-9-]*")


def _tag(text: str, *, self_closing: bool) -> bool:
    """promptfoo's `/<[a-zA-Z][a-zA-Z0-9-]*(?:\\s[^>]*)?>/` (or `...\\/>` when
    `self_closing`), in linear time: a backtracking engine takes quadratic time on a
    reply with many `<` and no `>`, so each `>` is checked against the `<`s before it."""
    start = 0
    while (close := text.find(">", start)) != -1:
        segment = text[start:close]
        for match in _TAG_NAME.finditer(segment):
            after = match.end()
            if self_closing:
                if not segment.endswith("/"):
                    break
                if after == len(segment) - 1 or (
                    after < len(segment) - 1 and _js.is_space(segment[after])
                ):
                    return True
            elif after == len(segment) or _js.is_space(segment[after]):
                return True
        start = close + 1
    return False


_COMPILED = [(_jsregex.compile_js(p, ignore_case=i), w) for p, i, w in _INDICATORS]

_ELEMENTS = frozenset(
    [
        "html",
        "head",
        "title",
        "base",
        "link",
        "meta",
        "style",
        "body",
        "article",
        "section",
        "nav",
        "aside",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "footer",
        "address",
        "p",
        "hr",
        "pre",
        "blockquote",
        "ol",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "main",
        "div",
        "a",
        "em",
        "strong",
        "small",
        "s",
        "cite",
        "q",
        "dfn",
        "abbr",
        "ruby",
        "rt",
        "rp",
        "data",
        "time",
        "code",
        "var",
        "samp",
        "kbd",
        "sub",
        "sup",
        "i",
        "b",
        "u",
        "mark",
        "bdi",
        "bdo",
        "span",
        "br",
        "wbr",
        "img",
        "iframe",
        "embed",
        "object",
        "param",
        "picture",
        "source",
        "video",
        "audio",
        "track",
        "map",
        "area",
        "svg",
        "math",
        "script",
        "noscript",
        "canvas",
        "ins",
        "del",
        "table",
        "caption",
        "colgroup",
        "col",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "form",
        "label",
        "input",
        "button",
        "select",
        "datalist",
        "optgroup",
        "option",
        "textarea",
        "output",
        "progress",
        "meter",
        "fieldset",
        "legend",
        "details",
        "summary",
        "dialog",
        "menu",
        "slot",
        "template",
    ]
)
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Start tags that close an open <p> (HTML's implied end tags), so text after them is loose.
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    ]
)


def contains_html_text(text: str) -> bool:
    """promptfoo's containsHtml: at least two HTML indicators."""
    if _js.utf16_len(text) > _MAX_INPUT:
        return False
    opening = _tag(text, self_closing=False)
    closing = _jsregex.search(_COMPILED[0][0], text) is not None
    score = 2 if opening and closing else int(opening or closing)
    score += _tag(text, self_closing=True)
    score += sum(weight for pattern, weight in _COMPILED[1:] if _jsregex.search(pattern, text))
    return score >= 2


# Start tags an HTML parser keeps in <head>; any other start tag (or text) opens <body>.
_HEAD_CONTENT = frozenset(
    [
        "base",
        "basefont",
        "bgsound",
        "link",
        "meta",
        "noframes",
        "script",
        "style",
        "template",
        "title",
        "noscript",
    ]
)
_TABLE_PARTS = frozenset(["table", "tbody", "thead", "tfoot", "tr"])
_LITERAL = {name: re.compile(f"<{name}(?=[\\s>/])") for name in ("html", "head", "body")}


class _Document(HTMLParser):
    """What is-html needs from an HTML5-style parse: text loose in the body, the elements
    the parser creates, and which of html/head/body were written rather than implied."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.counts: Counter[str] = Counter()  # open elements by name: no O(depth) scans
        self.in_cells = 0  # open elements other than table parts
        self.names: list[str] = []
        self.written: set[str] = set()  # html/head/body created from the user's own tag
        self.loose_text = False
        self.started = False  # anything but whitespace, comments and a doctype seen
        self.in_body = False

    def _enter_body(self) -> None:
        self.started = self.in_body = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "head", "body"):
            explicit = {
                "html": not self.started,
                "head": not self.in_body and "head" not in self.written and not self.names,
                "body": not self.in_body,
            }[tag]
            if explicit:
                self.written.add(tag)
                self.names.append(tag)
            if tag == "body":
                self._enter_body()
            elif tag == "head" or not explicit:
                self.started = True
            return
        self.names.append(tag)
        if tag not in _HEAD_CONTENT:
            self._enter_body()
        self.started = True
        if tag in _CLOSES_P and self.counts["p"]:
            self._close("p")
        if tag not in _VOID:
            self.open.append(tag)
            self.counts[tag] += 1
            self.in_cells += tag not in _TABLE_PARTS

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # `<a/>` opens an <a> in HTML: only void tags close

    def handle_endtag(self, tag: str) -> None:
        if tag in ("body", "html", "br"):
            self._enter_body()
        if self.counts[tag]:
            self._close(tag)

    def _close(self, tag: str) -> None:
        """Pop open elements up to and including the innermost `tag`."""
        while self.open:
            name = self.open.pop()
            self.counts[name] -= 1
            self.in_cells -= name not in _TABLE_PARTS
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if not _js.trim(data):
            return
        # Text directly in the body, or inside a table but outside its cells (a parser
        # moves such text out, in front of the table).
        if not self.in_cells:
            self.loose_text = True
        self._enter_body()


def html_problem(text: str) -> str | None:
    """Why `text` is not an HTML document or fragment as promptfoo's is-html sees it."""
    trimmed = _js.trim(text)
    if not trimmed:
        return "output is empty"
    if _js.utf16_len(trimmed) > _MAX_INPUT:
        return "output exceeds the maximum size"
    lowered = _js.lower(trimmed)
    if lowered.lstrip(_js.JS_WHITESPACE).startswith("<?xml"):
        return "output appears to be XML, not HTML"
    document = _Document()
    document.feed(trimmed)
    document.close()
    written = {name for name in document.written if _LITERAL[name].search(lowered)}
    if "body" not in written and document.loose_text:
        return "output must be wrapped in HTML tags"
    for name in document.names:
        if name in ("html", "head", "body"):
            if name in written:
                return None
        elif name in _ELEMENTS or "-" in name:
            return None
    return "output does not contain recognized HTML elements"


class HtmlParams(Params):
    """No settings; a `value:` is accepted and ignored, as promptfoo ignores it."""

    value: Any = None


@grader("contains-html", params=HtmlParams, uses_threshold=False)
def contains_html(output: TargetOutput, case: Case, params: HtmlParams) -> Score:
    """The output contains HTML (at least two of promptfoo's HTML indicators)."""
    if contains_html_text(_js.output_string(output)):
        return Score(1.0, reason="output contains HTML")
    return Score(0.0, reason="no HTML found in output")


@grader("is-html", params=HtmlParams, uses_threshold=False)
def is_html(output: TargetOutput, case: Case, params: HtmlParams) -> Score:
    """The whole output is HTML: known elements, no loose text around them."""
    problem = html_problem(_js.output_string(output))
    return Score(0.0, reason=problem) if problem else Score(1.0, reason="output is HTML")
