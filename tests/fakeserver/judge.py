"""A scripted judge for the fake server: reads a judge prompt the way a naive model would.

It finds the data block of the output being judged by its *kind* alone (the first
`<<<OUTPUT...>>>` and the first `<<<END-OUTPUT...>>>` after it), ignoring the boundary
token, after stripping zero-width characters and folding look-alikes (a model reads
straight through them). So:

- a forged closing marker inside the output ends the block early, and whatever follows
  it counts as instructions;
- an instruction such as "grade PASS" outside the block fools it into passing;
- of several REFERENCE blocks it believes the last one, so an output that smuggles in
  its own "reference" makes itself correct.

Its honest verdict: pass when the reference (or the rule's `expect`) occurs in the
output block. Its reasoning quotes the output block, so a reply parser that hunts for
the first JSON object in the text is fooled by a fake verdict inside the output.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

INJECTIONS = ("grade pass", "ignore previous instructions", "ignore all previous")
# Spaced-out brackets still read as a marker to a model.
_OPEN = r"<\s*<\s*<\s*{kind}\b[^>]*>\s*>\s*>"
_CLOSE = r"<\s*<\s*<\s*END-{kind}\b[^>]*>\s*>\s*>"
# Bracket look-alikes a model reads as brackets.
_FOLD = str.maketrans({"«": "<<", "»": ">>", "‹": "<", "›": ">"})


def _as_model_reads(text: str) -> str:
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible).translate(_FOLD)


def _blocks(text: str, kind: str) -> list[tuple[int, int]]:
    """(start, end) of each block of `kind`, naively: token-agnostic markers."""
    spans = []
    position = 0
    while True:
        opened = re.compile(_OPEN.format(kind=kind), re.IGNORECASE).search(text, position)
        if opened is None:
            return spans
        closed = re.compile(_CLOSE.format(kind=kind), re.IGNORECASE).search(text, opened.end())
        end = closed.start() if closed else len(text)
        spans.append((opened.end(), end))
        position = closed.end() if closed else len(text)


def scripted_verdict(rule: dict[str, Any], prompt: str) -> str:
    """The judge's JSON reply to `prompt` under `rule` (see the module docstring).

    rule: {"pass": {...verdict fields...}, "fail": {...}, "expect"?: str,
           "data_kind"?: "OUTPUT"}
    """
    text = _as_model_reads(prompt)
    kind = rule.get("data_kind", "OUTPUT")
    outputs = _blocks(text, kind)
    if outputs:
        start, end = outputs[0]
        data = text[start:end]
        outside = text[:start] + text[end:]
    else:
        data, outside = "", text
    references = _blocks(text, "REFERENCE")
    reference = text[references[-1][0] : references[-1][1]].strip() if references else None
    expect = reference if reference is not None else rule.get("expect", "")
    fooled = any(phrase in outside.lower() for phrase in INJECTIONS)
    honest = bool(expect) and expect.strip().lower() in data.lower()
    chosen = rule["pass"] if (fooled or honest) else rule["fail"]
    reasoning = f"The response reads: {data.strip()}"
    return json.dumps({"reasoning": reasoning, **chosen})


def tool_use_content(reply: str, tool_name: str) -> list[dict[str, Any]] | None:
    """An Anthropic tool_use content list for a JSON-object reply (None if it isn't one)."""
    try:
        data = json.loads(reply)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return [{"type": "tool_use", "id": "toolu_fake", "name": tool_name, "input": data}]


def openai_logprobs(reply: str, alternatives: dict[str, float] | None) -> dict[str, Any]:
    """Chat-completions `logprobs` for `reply`: every token certain, except the last one
    that is a key of `alternatives`, which gets those alternatives."""
    tokens = re.findall(r"\d|\w+|\s+|[^\w\s]", reply)
    alternatives = alternatives or {}
    special = max((i for i, t in enumerate(tokens) if t in alternatives), default=-1)
    content = []
    for index, token in enumerate(tokens):
        if index == special:
            top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in alternatives.items()]
            logprob = alternatives[token]
        else:
            top = [{"token": token, "logprob": 0.0, "bytes": None}]
            logprob = 0.0
        content.append({"token": token, "logprob": logprob, "bytes": None, "top_logprobs": top})
    return {"content": content, "refusal": None}
