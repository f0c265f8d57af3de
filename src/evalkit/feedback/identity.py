"""The content hash that de-duplicates imported and promoted cases.

Over what a case asks (vars, messages) and expects, in canonical JSON: the same
question with the same expectation is the same case, whatever its id, tags or notes.
Promoted cases add the graders they were written with (`extra`), so a human's verdict
on a case is not taken for a plain copy of it.
"""

from __future__ import annotations

from typing import Any

from evalkit.records import Case
from evalkit.workspace.identity import sha256_of

HASH_KEY = "source_hash"  # where a written case keeps its hash, in its metadata


def content_hash(
    variables: dict[str, Any], messages: list[Any] | None, expected: Any, extra: Any = None
) -> str:
    """`sha256:` over a case's input and expectation (and `extra`, when given)."""
    body: dict[str, Any] = {
        "vars": variables,
        "messages": None if messages is None else [_message(m) for m in messages],
        "expected": expected,
    }
    if extra is not None:
        body["extra"] = extra
    return sha256_of(body)


def _message(message: Any) -> list[Any]:
    if isinstance(message, dict):
        return [message.get("role"), message.get("content")]
    return [message.role, message.content]


def known_hashes(cases: list[Case]) -> set[str]:
    """The hashes a suite's cases already stand for: their content, and any recorded one."""
    found: set[str] = set()
    for case in cases:
        found.add(content_hash(case.vars, case.messages, case.expected))
        recorded = case.metadata.get(HASH_KEY)
        if isinstance(recorded, str):
            found.add(recorded)
    return found
