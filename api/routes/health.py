"""Health: ``/healthz`` (the process answers) and ``/readyz`` (it can serve)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.governor_metrics import read_status
from api.models import Health, Readiness
from api.services import Services
from api.state import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up (no key needed)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Store open, ledger writable, Redis reachable when configured; degraded (still 200) "
    "while a Gemini model's circuit is open or its day's quota is used up",
    responses={503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(services: Deps) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        ledger = services.runtime.ledger  # an UPDATE of no row: it takes the write lock, changes nothing
        await asyncio.to_thread(ledger.update_job, "__readyz__", state="queued")
        checks["ledger"] = "ok"
    except Exception as exc:
        checks["ledger"] = f"not writable: {type(exc).__name__}"
    try:
        await services.runtime.store.list_datasets()
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"not open: {type(exc).__name__}"
    redis = await services.redis_ok()
    if redis is not None:
        checks["redis"] = "ok" if redis else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    governor, degraded = await _governor(services)
    body = Readiness(
        status="not_ready" if not ready else "degraded" if degraded else "ready",
        checks=checks,
        imports="in_process" if services.inline else "queue",
        degraded=degraded,
        governor=governor,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _governor(services: Services) -> tuple[list[dict[str, Any]] | None, list[str]]:
    """The Gemini models' state, and why any cannot be called now. An open circuit leaves
    the server ready: it still answers from what is stored."""
    found = await read_status(services.settings)
    if found is None:
        return None, []
    if isinstance(found, str):
        return [], [found]
    now = time.time()
    return [s.to_json() for s in found], [why for s in found if (why := s.degraded(now))]
