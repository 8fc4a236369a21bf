"""Health: ``/healthz`` (the process answers) and ``/readyz`` (it can serve)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.models import Health, Readiness
from api.state import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up (no key needed)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Store open, ledger writable, Redis reachable when configured",
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
    body = Readiness(
        status="ready" if ready else "not_ready",
        checks=checks,
        imports="in_process" if services.inline else "queue",
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
