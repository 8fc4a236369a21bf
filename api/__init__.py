"""The HTTP API (FastAPI) and the MCP server over the same core: ``create_app(settings)``.

``create_app`` is imported on first use, so the CLI's use of ``api.local`` (finding a running
server) does not pay for importing FastAPI and every route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
