"""A trajectory as reports show it: turns, tool calls with their results, and each grade
at the step it judged (a turn's graders after that turn's reply, the whole
conversation's at the end). One view for the run page, the compare page and `show`."""

from __future__ import annotations

import json
from typing import Any

from evalkit.records import Step

MAX_TEXT = 4_000  # per step: a transcript is for reading, the store keeps everything
SHORT = 80  # per field in the terminal's one-line steps


def _cut(text: str | None, limit: int = MAX_TEXT) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit:,} more]"


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def transcript_view(
    steps: list[Step], grades: list[dict[str, Any]], chars: int = MAX_TEXT
) -> list[dict[str, Any]]:
    """JSON-ready entries: one per step, grades attached where they judged, each text cut
    to `chars` characters.

    `grades` are the trial's grades as reports read them (with `turn` for per-turn ones).
    """
    last_reply: dict[int, int] = {}
    for i, step in enumerate(steps):
        if step.role == "assistant":
            last_reply[step.turn] = i
    entries: list[dict[str, Any]] = []
    for step in steps:
        entry: dict[str, Any] = {"role": step.role, "turn": step.turn, "grades": []}
        if step.role == "tool":
            entry.update(
                tool=step.tool_name,
                args=_cut(_json(step.arguments or {}), chars),
                result=None if step.error else _cut(step.content or _json(step.result), chars),
                error=step.error,
            )
        else:
            entry["text"] = _cut(step.content, chars)
        if step.latency_ms is not None:
            entry["ms"] = round(step.latency_ms, 1)
        if step.cached:
            entry["cached"] = True
        entries.append(entry)
    ending: list[dict[str, Any]] = []
    for grade in grades:
        turn = grade.get("turn")
        at = last_reply.get(turn) if isinstance(turn, int) else None
        (entries[at]["grades"] if at is not None else ending).append(grade)
    # an assistant message that only asked for tools says nothing worth a line
    entries = [e for e in entries if e["role"] != "assistant" or e["text"] or e["grades"]]
    if ending:
        entries.append({"role": "grades", "turn": None, "grades": ending})
    return entries


def compact_lines(steps: list[Step]) -> list[str]:
    """The trajectory in one line per step, for the terminal."""
    lines: list[str] = []
    for step in steps:
        turn = f"t{step.turn}" if step.turn else "  "
        if step.role == "tool":
            args = _cut(_json(step.arguments or {}), SHORT)
            answer = f"✗ {step.error}" if step.error else _cut(step.content, SHORT)
            lines.append(f"{turn} ⚙ {step.tool_name}({args}) → {_cut(answer, SHORT)}")
        elif step.content or step.role == "user":
            text = " ".join((step.content or "").split())
            mark = "›" if step.role == "user" else "‹"
            cached = " (cached)" if step.cached else ""
            lines.append(f"{turn} {mark} {step.role}: {_cut(text, SHORT * 2)}{cached}")
    return lines
