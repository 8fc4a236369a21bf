"""The MCP server mounted on the app at ``/mcp`` (streamable HTTP), behind the API's keys.

Every HTTP request is authenticated as the routes are (``Authorization: Bearer <key>``, or
``X-API-Key``; 401 without a valid key, 429 over the key's rate) before the SDK sees it;
the caller's scope rides on the request's ASGI scope, where each tool call reads it. A
session is bound to the key that opened it (the SDK answers another key's request for it
as an unknown session).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import authenticate
from api.errors import ApiError, from_cognition
from api.mcp.server import build_mcp
from api.services import Services
from cognition.errors import CognitionError
from cognition.settings import Settings
from ingest.scope import Scope as Caller

PATH = "/mcp"
_CALLER = "cognition.caller"  # the ASGI scope key holding the authenticated caller's Scope
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class McpEndpoint:
    """The ASGI app at ``/mcp``: the SDK's streamable HTTP app behind the API's keys. Its
    session manager is made and run by the app's lifespan (``running``): a manager runs
    once, and an app's lifespan may be entered again."""

    def __init__(self, settings: Settings, services: Callable[[], Services]) -> None:
        self._settings = settings
        self._services = services
        self.server = build_mcp(services, caller_of, settings)
        self._app: ASGIApp | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        host = self._settings.api.host
        app = self.server.streamable_http_app(
            streamable_http_path=PATH,
            json_response=True,  # one JSON answer per call: no tool streams progress
            transport_security=_security(host),
            host=host,
        )
        async with self.server.session_manager.run():
            self._app = app
            try:
                yield
            finally:
                self._app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            error = ApiError(503, "NotReady", "the MCP server is starting or stopping", "retry", True)
            await error.response()(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            caller = await authenticate(
                self._services(), headers.get("authorization"), headers.get("x-api-key")
            )
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        except CognitionError as exc:  # the rate limiter's Redis is away: retryable
            await from_cognition(exc).response()(scope, receive, send)
            return
        token = AccessToken(token=caller.label, client_id=caller.label, scopes=[])
        authed = {**scope, _CALLER: caller, "user": AuthenticatedUser(token)}
        await self._app(authed, receive, send)


def caller_of(ctx: Context) -> Caller:
    """The scope of the key of the HTTP request that carried this tool call."""
    request: Any = ctx.request_context.request
    if not isinstance(request, Request) or not isinstance(request.scope.get(_CALLER), Caller):
        raise RuntimeError("an MCP tool call arrived without an authenticated request")
    found: Caller = request.scope[_CALLER]
    return found


def _security(host: str) -> TransportSecuritySettings | None:
    """On loopback, refuse requests whose Host or Origin is not loopback (DNS rebinding),
    as the SDK does for its own apps; beyond loopback the operator's proxy decides."""
    if host not in _LOOPBACK:
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )
