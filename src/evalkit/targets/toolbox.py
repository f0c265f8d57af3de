"""A target's tools: what the model is offered, and how each call is answered.

A call is answered, in order, by the case's scripted `tool_results` (the first whose
tool name matches and whose `args` are a subset of the call's arguments), else by the
tool's workspace function (`function: tools.py:lookup_ticket`, called with the
arguments as keywords), else by an MCP server's tool. An injected error or timeout, or
a function that raises, becomes a failed step the model is told about: a tool that
fails is something an agent must handle, not a broken trial.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from typing import Any

from evalkit.errors import ConfigError, TargetError
from evalkit.records import Step, ToolCall, ToolResultRule, ToolSpec
from evalkit.targets.base import TargetContext
from evalkit.targets.python_provider import load_function
from evalkit.workspace.models import TargetSpec

DEFAULT_MAX_STEPS = 10
TOOL_TIMEOUT = 30.0  # seconds a workspace tool function may take


def is_subset(expected: Any, actual: Any) -> bool:
    """Whether `expected` is contained in `actual`: dict keys recursively, else equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def scripted_rule(rules: list[ToolResultRule], call: ToolCall) -> ToolResultRule | None:
    """The case's scripted answer for this call, if it has one."""
    for rule in rules:
        if rule.tool == call.name and (rule.args is None or is_subset(rule.args, call.arguments)):
            return rule
    return None


class ToolBox:
    """The tools of one target and their implementations."""

    def __init__(
        self,
        specs: list[ToolSpec],
        functions: dict[str, Callable[..., Any]],
        max_steps: int,
        mcp: Any = None,
    ) -> None:
        self.specs = specs
        self.functions = functions
        self.max_steps = max_steps
        self.mcp = mcp  # evalkit.targets.mcp_tools.McpTools, when a server is configured

    async def tool_specs(self) -> list[ToolSpec]:
        """What the model is offered (an MCP server's tools are listed on first use)."""
        if self.mcp is None:
            return self.specs
        return [*self.specs, *await self.mcp.specs()]

    async def run(self, call: ToolCall, rules: list[ToolResultRule], turn: int) -> Step:
        """Answer one tool call; a failure is a step with `error`, never an exception."""
        step = Step(
            role="tool", turn=turn, tool_name=call.name, tool_call_id=call.id,
            arguments=call.arguments,
        )  # fmt: skip
        started = time.perf_counter()
        rule = scripted_rule(rules, call)
        try:
            if rule is not None:
                if rule.timeout:
                    step.error = f"tool '{call.name}' timed out"
                elif rule.error is not None:
                    step.error = rule.error
                else:
                    step.result = rule.result
            elif call.name in self.functions:
                step.result = await asyncio.wait_for(
                    _call(self.functions[call.name], call.arguments), TOOL_TIMEOUT
                )
            elif self.mcp is not None and await self.mcp.has(call.name):
                step.result = await self.mcp.call(call.name, call.arguments)
            else:
                known = ", ".join(s.name for s in self.specs) or "none"
                step.error = f"unknown tool '{call.name}' (tools: {known})"
        except TimeoutError:
            step.error = f"tool '{call.name}' timed out after {TOOL_TIMEOUT:g}s"
        except Exception as exc:  # the agent is told, as a real tool failure would tell it
            step.error = f"{type(exc).__name__}: {exc}"
        step.latency_ms = (time.perf_counter() - started) * 1000
        step.content = None if step.error else _as_text(step.result)
        return step

    async def aclose(self) -> None:
        """Stop an MCP server, if one was started."""
        if self.mcp is not None:
            await self.mcp.aclose()


async def _call(function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(function):
        return await function(**arguments)
    value = await asyncio.to_thread(function, **arguments)
    return await value if inspect.isawaitable(value) else value


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, default=str)


def build_toolbox(spec: TargetSpec, ctx: TargetContext) -> ToolBox | None:
    """The toolbox of a plan target; None when it declares no tools."""
    if not spec.tools:
        return None
    where = f"target '{spec.id}'"
    specs: list[ToolSpec] = []
    functions: dict[str, Callable[..., Any]] = {}
    mcp = None
    for i, tool in enumerate(spec.tools):
        if tool.mcp is not None:
            from evalkit.targets.mcp_tools import McpTools  # an optional extra

            mcp = McpTools(tool.mcp, ctx.root, f"{where} tools[{i}]")
            continue
        if not tool.name:
            raise ConfigError(f"{where} tools[{i}]: a tool needs a `name` (or an `mcp:` server)")
        if any(s.name == tool.name for s in specs):
            raise ConfigError(f"{where} tools[{i}]: tool '{tool.name}' is declared twice")
        specs.append(ToolSpec(tool.name, tool.description, tool.parameters))
        if tool.function is not None:
            try:
                function, _ = load_function(tool.function, ctx.root, f"{where} tool '{tool.name}'")
            except TargetError as exc:  # a plan that names a missing function is a config error
                raise ConfigError(exc.message, hint=exc.hint) from None
            functions[tool.name] = function
    return ToolBox(specs, functions, spec.max_steps or DEFAULT_MAX_STEPS, mcp)
