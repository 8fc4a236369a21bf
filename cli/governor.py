"""``cognition governor``: each Gemini model's circuit breaker and rate governor now."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import fail, settings
from cognition.errors import CognitionError

if TYPE_CHECKING:
    from cognition.governor.status import ModelStatus


def governor_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Per Gemini model: circuit state and open-until, blocked-until (a per-minute 429's
    pause), parked-until (the day's quota), concurrency limit. With Redis, as every worker
    sees them; without, only this process's (empty: ask the server's /readyz)."""
    from cognition.governor.status import configured_models, governor_status  # google-genai: only here

    current = settings()
    if not configured_models(current):
        typer.echo(
            "no Gemini model is configured (COGNITION_EMBEDDING__PROVIDER, COGNITION_EXTRACTION__EXTRACTOR)"
        )
        return
    try:
        statuses = asyncio.run(governor_status(current))
    except CognitionError as exc:
        fail(exc)
    shared = current.queue.redis_url is not None
    if as_json:
        typer.echo(json.dumps({"shared": shared, "models": [s.to_json() for s in statuses]}))
        return
    for status in statuses:
        typer.echo(_line(status))
    if not shared:
        typer.echo("without Redis each process keeps its own state: see the server's /readyz", err=True)


def _line(status: ModelStatus) -> str:
    circuit = status.circuit.replace("_", "-")
    if status.open_until is not None:
        circuit += f" until {_iso(status.open_until)}"
    return (
        f"{status.role}\t{status.model}\tcircuit {circuit}\t"
        f"blocked until {_iso(status.blocked_until)}\tparked until {_iso(status.parked_until)}\t"
        f"concurrency {status.concurrency:.1f}/{status.max_concurrency}"
    )


def _iso(when: float | None) -> str:
    return "-" if when is None else datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
