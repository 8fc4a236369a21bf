"""The HTTP API (FastAPI) and the MCP server over the same core: ``create_app(settings)``."""

from api.app import create_app

__all__ = ["create_app"]
