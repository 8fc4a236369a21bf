"""``cognition serve``: the HTTP API under uvicorn. While it runs, its card
(``<data_dir>/server.json``, see ``api.local``) lets the CLI on this host search through it
instead of starting cognee itself."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import fail, from_setting, settings
from cognition.errors import CognitionError
from cognition.paths import DataPaths
from cognition.settings import ApiSettings

if TYPE_CHECKING:
    import uvicorn

_HOST = ApiSettings.model_fields["host"].default
_PORT = ApiSettings.model_fields["port"].default


def serve_command(
    host: Annotated[
        str | None,
        typer.Option(
            help=f"Address to listen on (beyond loopback: only if given) {from_setting(_HOST, 'api.host')}",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help=f"Port (0: any free one) {from_setting(_PORT, 'api.port')}",
            show_default=False,
            min=0,
            max=65535,
        ),
    ] = None,
) -> None:
    """Serve the HTTP API until stopped; the CLI on this host then searches through it."""
    import uvicorn

    from api import create_app, local

    given = settings()
    bind = host or given.api.host
    if not is_loopback(bind):
        if host is None:
            fail(
                f"api.host is {bind!r}, not a loopback address: "
                f"to listen beyond this host, pass --host {bind}"
            )
        typer.echo(
            f"warning: listening on {bind}: other machines can reach this server "
            "(every route but the health checks needs an API key)",
            err=True,
        )
    card = DataPaths.of(given).server_file
    running = local.find(card)
    if running is not None:
        fail(local.ServerRunning(running))
    token = secrets.token_urlsafe(32)  # fresh for each start: a stopped server's token opens nothing
    config = uvicorn.Config(
        create_app(given, local_token=token),
        host=bind,
        port=given.api.port if port is None else port,
        log_config=None,  # the process's logging (``cognition.logs``): one format, no secrets
        access_log=False,  # each request is logged with its id by ``api.telemetry.RequestLog``
    )
    try:
        _card_server(config, card, token).run()
    except KeyboardInterrupt:
        pass
    finally:
        local.remove(card, os.getpid())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _card_server(config: uvicorn.Config, card: Path, token: str) -> uvicorn.Server:
    """A uvicorn server that writes its card once it listens and removes it as it stops
    (before uvicorn re-raises a SIGTERM it caught, which ends the process at once)."""
    import uvicorn

    from api import local

    class CardServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit or not self.servers or not self.servers[0].sockets:
                return
            port = int(self.servers[0].sockets[0].getsockname()[1])
            found = local.LocalServer(local.url_of(self.config.host, port), os.getpid(), token)
            try:
                local.write(card, found)
            except (CognitionError, OSError) as exc:
                typer.echo(f"warning: {exc}: the CLI will not search through this server", err=True)
                return
            typer.echo(f"serving {found.url}; the CLI on this host searches through it ({card})", err=True)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            local.remove(card, os.getpid())
            await super().shutdown(sockets)

    return CardServer(config)
