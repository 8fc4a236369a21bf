"""Asking the server that runs on this data directory (``api.local``), when one does: a
search is answered without starting cognee here, and a delete is made by the process that
holds the dataset's cached state (deleting under a running server's feet would leave it
serving what it cached)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from cognition.errors import CognitionError
from cognition.paths import DataPaths
from cognition.settings import Settings

if TYPE_CHECKING:
    from api.local import LocalServer

TIMEOUT = 600.0  # seconds a running server may take (a first search loads a dataset's graph)


def running_server(settings: Settings) -> LocalServer | None:
    from api import local as card

    return card.find(DataPaths.of(settings).server_file)


def ask(
    server: LocalServer, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The server's JSON answer; None if it went away or no longer knows the token (then
    this process does the work). An error the server gives is this command's error."""
    import httpx

    try:
        answered = httpx.request(
            method,
            f"{server.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=httpx.Timeout(TIMEOUT, connect=2.0),
        )
    except httpx.TransportError as exc:
        typer.echo(f"the server at {server.url} did not answer ({exc}); doing it here", err=True)
        return None
    if answered.status_code == 401:
        return None
    try:
        found: dict[str, Any] = answered.json()
    except ValueError:
        found = {"detail": answered.text[:200]}
    if answered.status_code >= 400:
        raise CognitionError(str(found.get("detail") or f"the server answered {answered.status_code}"))
    return found
