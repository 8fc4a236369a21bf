"""``cognition keys``: create, list and revoke the API's keys (stored in the data directory)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from cognition.errors import CognitionError
from cognition.settings import get_settings

if TYPE_CHECKING:
    from cognition.keys import ApiKey, KeyStore

app = typer.Typer(
    no_args_is_help=True,
    help="API keys: each shown once, stored hashed, with read/write/admin rights per dataset.",
)

_SHOWN_ONCE = "warning: this secret is shown once and cannot be shown again: store it now"


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="A label for people, e.g. who or what uses the key")],
    grant: Annotated[
        list[str],
        typer.Option(
            "--grant", "-g", help="RIGHT:DATASET, RIGHT read|write|admin, DATASET a name or * (repeat)"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its secret as JSON")] = False,
) -> None:
    """Create a key; its secret is printed on stdout, once."""
    from cognition.keys import parse_grant

    try:
        grants = [parse_grant(text) for text in grant]
        key, secret = _store().create(name, grants)
    except CognitionError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({**key.to_json(), "secret": secret}))
    else:
        typer.echo(f"created key {key.id} {key.name!r}: {', '.join(map(str, key.grants))}", err=True)
        typer.echo(secret)
    typer.echo(_SHOWN_ONCE, err=True)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list")] = False,
) -> None:
    """List every key (revoked ones too): never a secret or its hash."""
    keys = _store().list()
    if as_json:
        typer.echo(json.dumps([key.to_json() for key in keys]))
        return
    if not keys:
        typer.echo("no API keys: create one with `cognition keys create NAME --grant read:DATASET`")
        return
    for key in keys:
        typer.echo(_line(key))


@app.command("revoke")
def revoke_command(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (see list)")],
) -> None:
    """Revoke a key for good: its secret stops working at once."""
    if not _store().revoke(key_id):
        typer.echo(f"error: no API key has the id {key_id!r} (see `cognition keys list`)", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"revoked key {key_id}")


def _line(key: ApiKey) -> str:
    state = f"revoked {_when(key.revoked_at)}" if key.revoked_at is not None else "active"
    return (
        f"{key.id}  {key.name!r}  {key.prefix}…  {', '.join(map(str, key.grants))}  "
        f"created {_when(key.created_at)}  last used {_when(key.last_used_at)}  {state}"
    )


def _when(moment: float | None) -> str:
    return "never" if moment is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def _store() -> KeyStore:
    """The data directory's key store; a bad setting ends the command with one line."""
    from cognition.keys import open_keys

    try:
        return open_keys(get_settings())
    except CognitionError as exc:
        _fail(exc)


def _fail(exc: CognitionError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)
