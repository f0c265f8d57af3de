"""An item's parts as plain text, the same in the terminal and in a spreadsheet.

The text is untrusted (it comes from cases and model output): callers escape it for
wherever it goes (rich Text in the terminal, a formula guard in spreadsheets).
"""

from __future__ import annotations

import json
from typing import Any

from evalkit.review.queue import GradeView, Item


def input_text(item: Item) -> str:
    """The case's inputs: its variables, then its chat transcript if it has one."""
    lines = [f"{name}: {_plain(value)}" for name, value in item.vars.items()]
    for message in item.messages or []:
        lines.append(f"[{message.get('role', '?')}] {_plain(message.get('content', ''))}")
    return "\n".join(lines)


def expected_text(item: Item) -> str:
    """The expected answer as written in the case, '' when there is none."""
    return "" if item.expected is None else _plain(item.expected)


def output_text(item: Item) -> str:
    """What the target produced (its text, else its structured data), or why it failed."""
    if item.output:
        return item.output
    if item.output_data is not None:
        return _plain(item.output_data)
    if item.error:
        return f"(no output: {item.error})"
    return ""


def context_text(item: Item) -> str:
    """The retrieved passages, numbered."""
    return "\n".join(f"[{i}] {passage}" for i, passage in enumerate(item.context, 1))


def grade_line(grade: GradeView) -> str:
    """'metric: status 0.50 (reason)' for one grade."""
    score = "" if grade.score is None else f" {grade.score:.2f}"
    reason = f" ({grade.reason})" if grade.reason else ""
    return f"{grade.metric}: {grade.status}{score}{reason}"


def reasons_text(item: Item) -> str:
    """Every grade on its own line, each with the judge's reasoning when there is one."""
    lines = []
    for grade in item.grades:
        line = grade_line(grade)
        if grade.reasoning and grade.reasoning != grade.reason:
            line += f" | judge: {grade.reasoning}"
        lines.append(line)
    if item.error and not item.grades:
        lines.append(f"error: {item.error}")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
