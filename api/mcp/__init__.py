"""The MCP server: the API's read tools (and, when enabled, its write tools) for agents,
mounted on the app as streamable HTTP (``api.mcp.http``) or run over stdio (``cognition mcp``)."""

from api.mcp.server import build_mcp

__all__ = ["build_mcp"]
