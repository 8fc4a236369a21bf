"""``build_mcp``: the MCP server (official ``mcp`` SDK) whose tools call the same core
functions as the API's routes, each under the caller's scope. Read-only unless
``settings.api.mcp_write`` adds the write profile. The same server runs mounted on the app
(streamable HTTP, ``api.mcp.http``) and over stdio (``cognition mcp``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from api.mcp.reads import Access, read_tools
from api.mcp.writes import write_tools
from api.services import Services
from cognition.settings import Settings
from ingest.scope import Scope

INSTRUCTIONS = (
    "Knowledge graph over books and documentation sites. Start with search; cite the dataset, "
    "title and pages or URL each result gives; get_chunk for full text."
)


def build_mcp(
    services_getter: Callable[[], Services],
    scope_getter: Callable[[Context], Scope],
    settings: Settings,
) -> MCPServer[Any]:
    """The server. ``services_getter``: the app's services (built in its lifespan);
    ``scope_getter``: who calls, from a tool call's context."""
    from api.app import VERSION

    access = Access(services_getter, scope_getter)
    tools = read_tools(access) + (write_tools(access) if settings.api.mcp_write else [])
    return MCPServer(
        "cognition", instructions=INSTRUCTIONS, version=VERSION, tools=tools, log_level=settings.log_level
    )
