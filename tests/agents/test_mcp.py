"""Tools from an MCP server over stdio (the `mcp` package): listed, offered to the model,
called, and their errors told to it."""

from __future__ import annotations

import json
import sys

import pytest

from tests.agents.conftest import AgentWorkspace, Cli

pytest.importorskip("mcp")

SERVER = """\
try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server
    from mcp.server.fastmcp.exceptions import ToolError

server = Server("helpdesk")


@server.tool()
def lookup_ticket(ticket_id: str) -> str:
    \"\"\"Look up a support ticket by id.\"\"\"
    if ticket_id == "T-404":
        raise ToolError("no such ticket")
    return f"{ticket_id}: open, VPN drops"


@server.tool()
def delete_everything() -> str:
    \"\"\"Not offered: the plan lists only lookup_ticket.\"\"\"
    return "gone"


server.run()
"""


@pytest.mark.slow
def test_mcp_tools_are_offered_and_called(ws: AgentWorkspace, cli: Cli) -> None:
    (ws.root / "mcp_server.py").write_text(SERVER)
    ws.server.script(
        {
            "match": "status",
            "steps": [
                {
                    "tool_calls": [
                        {"name": "lookup_ticket", "arguments": {"ticket_id": "T-7"}},
                        {"name": "lookup_ticket", "arguments": {"ticket_id": "T-404"}},
                    ]
                },
                {"text": "T-7 is open."},
            ],
        }
    )
    ws.suite([{"id": "mcp", "vars": {"input": "status of T-7 and T-404?"}}])
    server = {"command": [sys.executable, "mcp_server.py"], "tools": ["lookup_ticket"]}
    ws.plan([ws.model("openai", tools=False) | {"tools": [{"mcp": server}]}])
    code, out = cli("run")
    assert code in (0, 5), out  # no graders: nothing failed
    offered = ws.server.requests()[0]["body"]["tools"]
    assert [t["function"]["name"] for t in offered] == ["lookup_ticket"]
    assert offered[0]["function"]["parameters"]["properties"]["ticket_id"]["type"] == "string"
    tools = ws.sql("SELECT arguments, result, error FROM steps WHERE role = 'tool' ORDER BY idx")
    assert json.loads(tools[0][0]) == {"ticket_id": "T-7"}
    assert "T-7: open, VPN drops" in str(json.loads(tools[0][1]))
    assert tools[1][1] is None and "no such ticket" in tools[1][2]
