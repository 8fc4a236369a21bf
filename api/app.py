"""``create_app(settings)``: the FastAPI app. Its lifespan builds the services once (one
runtime per process) and closes them; the routes are thin over ``ingest`` and the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from api import errors, telemetry
from api.mcp.http import PATH as MCP_PATH
from api.mcp.http import McpEndpoint
from api.routes import audits, datasets, documents, graph, health, jobs, metrics, repairs, search, ui
from api.services import services
from cognition.runtime import Runtime
from cognition.settings import Settings

VERSION = "1"


def create_app(settings: Settings, runtime: Runtime | None = None, local_token: str | None = None) -> FastAPI:
    """The app. ``runtime``: use this process's runtime instead of building one (it is then
    not closed with the app). ``local_token``: a secret the `cognition` CLI on this host
    presents (see ``api.local``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with services(settings, runtime, local_token) as built, mcp.running():
            app.state.services = built
            yield

    app = FastAPI(
        title="Cognition",
        version=VERSION,
        summary="Knowledge-graph RAG: search and import books and documentation sites.",
        lifespan=lifespan,
    )
    mcp = McpEndpoint(settings, lambda: app.state.services)  # same keys, as a bearer header
    app.router.routes.append(Route(MCP_PATH, mcp, include_in_schema=False))
    errors.install(app)
    ui.install(app)  # a stale login cookie: the login page, not JSON
    app.add_middleware(telemetry.RequestLog)  # counted by route template and status, an id, a log line
    for module in (health, datasets, documents, jobs, search, graph, metrics, audits, repairs, ui):
        app.include_router(module.router)
    return app
