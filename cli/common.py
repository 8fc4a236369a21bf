"""What every ``cognition`` command shares: settings, one runtime, errors, confirmations,
and the cheap check that named datasets exist (the ledger, before cognee starts)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from cognition.errors import CognitionError
from cognition.settings import Settings, get_settings

if TYPE_CHECKING:
    from cognition.runtime import Runtime

T = TypeVar("T")


def settings() -> Settings:
    """The settings; a bad value ends the command with one line naming its variable."""
    try:
        return get_settings()
    except CognitionError as exc:
        fail(exc)


def fail(exc: CognitionError | str) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def with_runtime(action: Callable[[Runtime], Awaitable[T]], given: Settings | None = None) -> T:
    """Run ``action`` on this process's one runtime, closed when it ends."""
    from cognition.runtime import Runtime

    async def main() -> T:
        runtime = Runtime.build(given or get_settings())
        try:
            return await action(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def require_datasets(given: Settings, names: Sequence[str]) -> None:
    """End the command at once if a named dataset is unknown, naming those that exist: the
    ledger answers in milliseconds, where a search would first spend seconds starting cognee."""
    from cognition.ledger import open_ledger

    known = open_ledger(given).datasets()
    missing = [name for name in dict.fromkeys(names) if name not in known]
    if not missing:
        return
    named = ", ".join(repr(name) for name in missing)
    there = f"datasets: {', '.join(known)}" if known else "there are no datasets yet"
    fail(f"no dataset named {named}; {there}")


def confirm(question: str, yes: bool) -> None:
    """Ask before deleting: ``--yes`` skips the question; without a terminal to ask on, the
    command refuses (a script must say ``--yes``)."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail("refusing to delete without confirmation: stdin is not a terminal; pass --yes")
    if not typer.confirm(question, default=False, err=True):
        typer.echo("nothing deleted", err=True)
        raise typer.Exit(code=1)


def from_setting(value: object, setting: str) -> str:
    """Help text for a default that a setting gives: ``[default: 5, search.top_k]`` (the
    bracket escaped: the help is rich markup)."""
    return rf"\[default: {value}, {setting}]"


def stop_if_provider_waits(exc: CognitionError) -> None:
    """An import in this process whose provider may not be called until some time (the
    day's quota used up, an open circuit) has no queue to park in: it stops, resumable, and
    exits 3 as at a budget cap. What it stored stays; its documents in flight are left
    ``failed``, not permanently, and are redone by the next import (paid chunks from the cache)."""
    from datetime import UTC, datetime

    from cognition.governor.errors import CircuitOpen, QuotaParked

    if not isinstance(exc, QuotaParked | CircuitOpen):
        return
    when = datetime.fromtimestamp(exc.until, UTC).isoformat(timespec="seconds")
    typer.echo(f"stopped, resumable: {exc}", err=True)
    typer.echo(
        f"  import again after {when} to go on (what is stored stays; chunks already paid for "
        "come from the cache), or submit with --queue: the workers park the work and resume it then",
        err=True,
    )
    raise typer.Exit(code=3)
