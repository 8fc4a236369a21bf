"""Health: ``/healthz`` (the process answers) and ``/readyz`` (it can serve)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.governor_metrics import read_status
from api.models import Health, Readiness
from api.readiness import backend_checks, run_checks
from api.services import Services
from api.state import Deps

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up (no key needed)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Each configured backend answers: the ledger's database, Redis, the graph and vector "
    "stores, cognee's tables (503 naming the one that does not); degraded (still 200) while a "
    "Gemini model's circuit is open or its day's quota is used up",
    responses={503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(services: Deps) -> JSONResponse:
    backends = await run_checks(services, backend_checks(services))
    checks = {check.name: "ok" if check.ok else str(check.error) for check in backends}
    ready = all(check.ok for check in backends if check.required)
    governor, degraded = await _governor(services)
    body = Readiness(
        status="not_ready" if not ready else "degraded" if degraded else "ready",
        checks=checks,
        imports="in_process" if services.inline else "queue",
        degraded=degraded,
        governor=governor,
        backends=backends,
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
