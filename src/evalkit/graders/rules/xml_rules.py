"""XML rule graders, as promptfoo judges them: is-xml and contains-xml.

is-xml asks for a well-formed XML document (a DTD internal subset is refused, as in
promptfoo); contains-xml for a balanced XML fragment anywhere in the text. `value:`
names elements that must exist, as dotted paths (`root.item`): a comma-separated
string, a list, or `{requiredElements: [...]}`.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from evalkit.graders.base import Invalid, Score, grader
from evalkit.graders.rules import _js
from evalkit.graders.rules._common import Params, clip
from evalkit.graders.rules._xmlscan import xml_candidates
from evalkit.records import Case, TargetOutput


class XmlParams(Params):
    """`value`: elements that must exist, as dotted paths (`root.item`): a comma-separated
    string, a list, or a mapping with `requiredElements`."""

    value: Any = None


def required_elements(value: Any) -> list[str] | Invalid | None:
    """promptfoo's reading of an xml assertion's value (other values mean none required)."""
    if isinstance(value, str):
        return [_js.trim(item) for item in value.split(",")]
    if isinstance(value, list):
        return [_js.to_string(item) for item in value] if value else None
    if isinstance(value, dict) and value:
        wanted = value.get("requiredElements")
        if isinstance(wanted, list):
            return [_js.to_string(item) for item in wanted]
        return Invalid("xml assertion must contain a string, array value, or no value")
    return None


def _tree(text: str, *, lenient: bool) -> dict[str, Any]:
    """The XML as nested mappings, like fast-xml-parser's output (expat.ExpatError if bad)."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    parser = expat.ParserCreate()
    if lenient:
        parser.UseForeignDTD(True)  # unknown entities in a fragment are not fatal

    def start(name: str, attrs: dict[str, str]) -> None:
        node: dict[str, Any] = {f"@_{key}": item for key, item in attrs.items()}
        parent = stack[-1]
        if name in parent:
            existing = parent[name]
            parent[name] = [*existing, node] if isinstance(existing, list) else [existing, node]
        else:
            parent[name] = node
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(text, True)
    return root


def _has_path(tree: Any, path: list[str]) -> bool:
    current = tree
    for key in path:
        if isinstance(current, list):
            if not key.isdigit() or str(int(key)) != key or int(key) >= len(current):
                return False
            current = current[int(key)]
        elif isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return False
    return True


def _xml_verdict(text: str, wanted: list[str] | None, whole: bool) -> str | None:
    """Why `text` fails (None: it passes)."""
    if whole:
        candidates = [text]
        if "<!DOCTYPE" in text and "[" in text[text.index("<!DOCTYPE") :].split(">")[0]:
            return "DTD internal subsets are not supported"
    else:
        candidates = [text[start:end] for start, end in xml_candidates(text)]
        if not candidates:
            return "no XML content found in the output"
    for candidate in candidates:
        try:
            tree = _tree(candidate if whole else f"<_>{candidate}</_>", lenient=not whole)
        except expat.ExpatError as exc:
            if whole:
                return f"XML parsing failed: {exc}"
            tree = None  # a fragment promptfoo's lenient parser still reads
        if not whole and tree is not None:
            tree = tree["_"]
        missing = [w for w in wanted or [] if tree is None or not _has_path(tree, w.split("."))]
        if not missing:
            return None
        if whole:
            return f"XML is missing required elements: {', '.join(missing)}"
    return "no valid XML content found matching the requirements"


def _xml_grade(output: TargetOutput, params: XmlParams, whole: bool) -> Score | Invalid:
    wanted = required_elements(params.value)
    if isinstance(wanted, Invalid):
        return wanted
    problem = _xml_verdict(_js.output_string(output), wanted, whole)
    if problem:
        return Score(0.0, reason=problem)
    return Score(1.0, reason="valid XML" + (f" with {clip(', '.join(wanted))}" if wanted else ""))


@grader("is-xml", params=XmlParams, uses_threshold=False)
def is_xml(output: TargetOutput, case: Case, params: XmlParams) -> Score | Invalid:
    """The whole output is a well-formed XML document, with the required elements."""
    return _xml_grade(output, params, whole=True)


@grader("contains-xml", params=XmlParams, uses_threshold=False)
def contains_xml(output: TargetOutput, case: Case, params: XmlParams) -> Score | Invalid:
    """The output contains a balanced XML fragment with the required elements."""
    return _xml_grade(output, params, whole=False)
