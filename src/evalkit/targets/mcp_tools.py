"""Tools from an MCP server over stdio, through the `mcp` package (`pip install
'evalkit-cli[mcp]'`): listed once, called by name, for teams whose tools already live there.

The server is started on the first call and kept for the run; it runs inside a task of
its own because the SDK's stdio client is an async context manager that must be entered
and left in the same task.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from evalkit.errors import TargetError
from evalkit.records import ToolSpec
from evalkit.workspace.models import McpServerSpec


class McpTools:
    """One MCP server's tools for one target."""

    def __init__(self, spec: McpServerSpec, root: Path, where: str) -> None:
        try:
            import mcp  # noqa: F401
        except ImportError as exc:
            raise TargetError(
                f"{where}: an `mcp:` tool server needs the mcp package",
                hint="pip install 'evalkit-cli[mcp]'",
            ) from exc
        self._spec = spec
        self._root = root
        self._where = where
        self._session: Any = None
        self._tools: list[ToolSpec] | None = None
        self._started: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client

        command, *args = self._spec.command
        params = StdioServerParameters(
            command=command, args=args, env={**os.environ, **self._spec.env}, cwd=self._root
        )
        try:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                self._session = s
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    async def _ensure(self) -> Any:
        async with self._lock:
            if self._started is None:
                self._started = asyncio.get_running_loop().create_future()
                self._task = asyncio.create_task(self._serve(self._started))
            try:
                await self._started
            except Exception as exc:
                raise TargetError(f"{self._where}: MCP server failed to start: {exc}") from exc
            return self._session

    async def specs(self) -> list[ToolSpec]:
        """The server's tools (only those `tools:` names, when given)."""
        if self._tools is None:
            session = await self._ensure()
            listed = await session.list_tools()
            wanted = self._spec.tools
            self._tools = [
                ToolSpec(
                    t.name, t.description or "", dict(_field(t, "input_schema", "inputSchema"))
                )
                for t in listed.tools
                if wanted is None or t.name in wanted
            ]
        return self._tools

    async def has(self, name: str) -> bool:
        """Whether the server offers a tool of that name."""
        return any(t.name == name for t in await self.specs())

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool; an error result raises, so the step records it."""
        session = await self._ensure()
        result = await session.call_tool(name, arguments)
        texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        if _field(result, "is_error", "isError"):
            raise RuntimeError("; ".join(texts) or f"tool '{name}' failed")
        structured = _field(result, "structured_content", "structuredContent")
        if structured is not None:
            return structured
        return "\n".join(texts)

    async def aclose(self) -> None:
        """Stop the server."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def _field(value: Any, name: str, old_name: str) -> Any:
    """A field of an MCP type by its mcp 2.x name, else its 1.x (camelCase) name."""
    found = getattr(value, name, None)
    return found if found is not None else getattr(value, old_name, None)
