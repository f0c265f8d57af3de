"""Tool use for the fake server: a rule's `steps` script one agent turn.

A rule with `steps: [{"tool_calls": [{"name", "arguments"}]}, ..., {"text": "..."}]`
answers the k-th model call after the last real user message with `steps[k]` (the last
one repeats), so a scripted agent asks for tools, reads their results and answers,
whatever else runs at the same time. Replies come in each API's own shape: Anthropic
`tool_use` blocks (stop_reason `tool_use`), OpenAI `tool_calls` (finish_reason
`tool_calls`).
"""

from __future__ import annotations

import json
from typing import Any


def is_tool_result_only(message: dict[str, Any]) -> bool:
    """An Anthropic user message carrying only tool results (not a real user turn)."""
    content = message.get("content")
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


def calls_since_user(messages: list[dict[str, Any]]) -> int:
    """How many assistant messages follow the last real user message."""
    count = 0
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant":
            count += 1
        elif role == "user" and not is_tool_result_only(message):
            break
    return count


def tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The text of every tool result in the conversation, both wire formats."""
    found: list[str] = []
    for message in messages:
        if message.get("role") == "tool":
            found.append(str(message.get("content")))
        elif is_tool_result_only(message):
            for block in message["content"]:
                content = block.get("content")
                if isinstance(content, list):
                    content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
                found.append(str(content))
    return found


def scripted_step(steps: list[dict[str, Any]], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The step of `steps` this call plays."""
    k = calls_since_user(messages)
    return steps[min(k, len(steps) - 1)]


def anthropic_content(step: dict[str, Any], ids: Any) -> tuple[list[dict[str, Any]], str]:
    """Content blocks and stop reason for one scripted step."""
    blocks: list[dict[str, Any]] = []
    if step.get("text"):
        blocks.append({"type": "text", "text": step["text"]})
    for call in step.get("tool_calls") or []:
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_fake{next(ids):06d}",
                "name": call["name"],
                "input": call.get("arguments") or {},
            }
        )
    if not blocks:
        blocks.append({"type": "text", "text": ""})
    return blocks, ("tool_use" if step.get("tool_calls") else "end_turn")


def openai_message(step: dict[str, Any], ids: Any) -> tuple[dict[str, Any], str]:
    """The assistant message and finish reason for one scripted step."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": step.get("text") or None,
        "refusal": None,
    }
    calls = step.get("tool_calls") or []
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_fake{next(ids):06d}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": json.dumps(call.get("arguments") or {}),
                },
            }
            for call in calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    return message, ("tool_calls" if calls else "stop")


def step_text(step: dict[str, Any]) -> str:
    """The text of a step, for token counts."""
    return str(step.get("text") or "") + " ".join(
        json.dumps(c.get("arguments") or {}) for c in step.get("tool_calls") or []
    )
