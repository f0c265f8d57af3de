"""Reading a judge's answer strictly: one JSON object that follows the template's schema.

A forced tool call (Anthropic) or a json_schema answer (OpenAI) arrives as data; any
other judge answers in text, which must be exactly one JSON object (a Markdown code
fence around it is tolerated, nothing else). There is no hunting for the first `{` in
prose and no default: whatever does not parse is an `UnreadableVerdict`, which the
grader reports as status `error` with the raw reply kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from evalkit.graders.rules._schema_regex import budget_schema_regexes
from evalkit.records import TargetOutput

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)
RAW_LIMIT = 4000  # characters of an unreadable reply kept in the grade's metadata


class UnreadableVerdict(Exception):
    """The judge's answer is not a verdict; `raw` is what it said."""

    def __init__(self, problem: str, raw: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.raw = raw[:RAW_LIMIT]


def parse_verdict(output: TargetOutput, schema: dict[str, Any]) -> dict[str, Any]:
    """The judge's verdict as a dict valid against `schema`, or UnreadableVerdict."""
    raw = output.text or ""
    data = output.data
    if not isinstance(data, dict):
        text = raw.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced[1].strip()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnreadableVerdict(f"the judge's reply is not JSON ({exc.msg})", raw) from None
        if not isinstance(data, dict):
            raise UnreadableVerdict("the judge's reply is JSON but not an object", raw)
    budget_schema_regexes()  # the schema's patterns meet the judge's text
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "the verdict"
        raise UnreadableVerdict(
            f"the judge's verdict does not follow the schema: {where}: {first.message}",
            raw or json.dumps(data),
        )
    return data
