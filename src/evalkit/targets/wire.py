"""Trajectories in the two chat wire formats: steps -> native messages, tools -> tool
definitions. Anthropic: `tool_use` blocks in the assistant turn, `tool_result` blocks in
the next user turn. OpenAI: `tool_calls` on the assistant message, one `tool` message
per result.
"""

from __future__ import annotations

import json
from typing import Any

from evalkit.records import Step, ToolSpec


def tool_result_text(step: Step) -> str:
    """What the model is told a tool returned (or why it failed)."""
    if step.error is not None:
        return f"error: {step.error}"
    if step.content is not None:
        return step.content
    if isinstance(step.result, str):
        return step.result
    return json.dumps(step.result, ensure_ascii=False, default=str)


def _groups(steps: list[Step]) -> list[tuple[Step, list[Step]]]:
    """Each message step with the tool steps that follow it."""
    groups: list[tuple[Step, list[Step]]] = []
    for step in steps:
        if step.role == "tool" and groups:
            groups[-1][1].append(step)
        elif step.role != "tool":
            groups.append((step, []))
    return groups


def anthropic_messages(steps: list[Step]) -> list[dict[str, Any]]:
    """The Messages API `messages` for a trajectory (consecutive user content merged)."""
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # the API wants roles to alternate
        else:
            messages.append({"role": role, "content": blocks})

    for step, tools in _groups(steps):
        if step.role == "assistant":
            blocks: list[dict[str, Any]] = []
            if step.content:
                blocks.append({"type": "text", "text": step.content})
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": t.tool_call_id or f"call_{i}",
                    "name": t.tool_name or "",
                    "input": t.arguments or {},
                }
                for i, t in enumerate(tools)
            )
            add("assistant", blocks or [{"type": "text", "text": ""}])
            if tools:
                add(
                    "user",
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": t.tool_call_id or f"call_{i}",
                            "content": tool_result_text(t),
                            **({"is_error": True} if t.error is not None else {}),
                        }
                        for i, t in enumerate(tools)
                    ],
                )
        else:
            add("user", [{"type": "text", "text": step.content or ""}])
    return messages


def openai_messages(steps: list[Step]) -> list[dict[str, Any]]:
    """The Chat Completions `messages` for a trajectory (without the system message)."""
    messages: list[dict[str, Any]] = []
    for step, tools in _groups(steps):
        if step.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": step.content or None}
            if tools:
                message["tool_calls"] = [
                    {
                        "id": t.tool_call_id or f"call_{i}",
                        "type": "function",
                        "function": {
                            "name": t.tool_name or "",
                            "arguments": json.dumps(t.arguments or {}, ensure_ascii=False),
                        },
                    }
                    for i, t in enumerate(tools)
                ]
            elif message["content"] is None:
                message["content"] = ""
            messages.append(message)
            messages.extend(
                {
                    "role": "tool",
                    "tool_call_id": t.tool_call_id or f"call_{i}",
                    "content": tool_result_text(t),
                }
                for i, t in enumerate(tools)
            )
        else:
            messages.append({"role": "user", "content": step.content or ""})
    return messages


def anthropic_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Tool definitions for the Messages API."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]


def openai_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Tool definitions for Chat Completions."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def steps_json(steps: list[Step]) -> list[list[Any]]:
    """A trajectory as compact JSON for cache fingerprints."""
    return [
        [s.role, s.content, s.tool_name, s.tool_call_id, s.arguments, tool_result_text(s)]
        if s.role == "tool"
        else [s.role, s.content]
        for s in steps
    ]
