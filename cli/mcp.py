"""``cognition mcp``: the MCP server over stdio, for an agent that starts it as a child
process (``claude mcp add cognition -- cognition mcp --dataset books``).

What it may see is given at start: ``--dataset`` names (read-only on those), or an API key
(``--key``, or ``COGNITION_API__MCP_KEY`` so the secret stays out of argv) with that key's
rights. With neither it refuses: it never opens every dataset silently. stdout carries only
MCP messages; anything else goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

import typer

from cognition import logs
from cognition.errors import CognitionError
from cognition.settings import Settings, get_settings

if TYPE_CHECKING:
    from api.services import Services
    from ingest.scope import Scope

NO_SCOPE = (
    "cognition mcp needs to know what the agent may read: give --dataset NAME (repeat for several; "
    "read-only) or an API key (--key, or COGNITION_API__MCP_KEY)"
)


def mcp_command(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="A dataset the agent may read (repeat)")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="An API key: the agent gets its rights (prefer COGNITION_API__MCP_KEY)")
    ] = None,
) -> None:
    """Serve the MCP tools over stdio to the agent that started this process."""
    try:
        settings = get_settings()
        logs.configure(settings)  # on stderr: stdout carries the protocol
        secret = key or (settings.api.mcp_key.get_secret_value() if settings.api.mcp_key else None)
        if dataset and secret:
            raise CognitionError("give --dataset or a key, not both")
        if not dataset and not secret:
            raise CognitionError(NO_SCOPE)
        asyncio.run(_serve(settings, dataset or [], secret))
    except CognitionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


async def _serve(settings: Settings, datasets: list[str], secret: str | None) -> None:
    from api.mcp import build_mcp

    async with contextlib.AsyncExitStack() as stack:
        with contextlib.redirect_stdout(sys.stderr):  # until the SDK diverts fd 1 itself
            services = await stack.enter_async_context(_services(settings))
            scope = _scope(services, datasets, secret)
            server = build_mcp(lambda: services, lambda ctx: scope, settings)
        await server.run_stdio_async()


def _scope(services: Services, datasets: list[str], secret: str | None) -> Scope:
    """The datasets named (each must exist: a typo is an error now, not an empty agent), or
    the key's scope."""
    from api.auth import of_key
    from cognition.errors import DatasetNotFoundError
    from ingest.scope import Scope

    if secret is None:
        ledger = services.runtime.ledger
        for name in datasets:
            if ledger.dataset(name) is None:
                known = ", ".join(ledger.datasets()) or "none"
                raise CognitionError(f"{DatasetNotFoundError(name)} (datasets: {known})")
        return Scope.of_datasets(datasets, "read")
    found = services.keys.authenticate(secret)
    if found is None:
        raise CognitionError(
            "the API key is not valid (unknown or revoked); `cognition keys list` shows the keys"
        )
    return of_key(found)


@contextlib.asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    """The app's services. Read-only, nothing runs imports here: a server using the same
    data directory keeps its jobs. With the write profile, submissions go to the queue
    (Redis) or, without one, run in this process as they would in the server."""
    from api.services import Services, services
    from cognition.keys import RateLimiter, open_keys
    from cognition.runtime import Runtime
    from ingest.inline import InlineQueue

    if settings.api.mcp_write:
        async with services(settings) as built:
            yield built
        return
    runtime = Runtime.build(settings)
    limiter = RateLimiter.from_settings(settings.api)
    try:
        yield Services(settings, runtime, open_keys(settings), limiter, InlineQueue(runtime.ledger))
    finally:
        await limiter.close()
        await runtime.close()
