"""Audits of a dataset: the stored history, the latest (JSON or a self-contained HTML page),
and running one now. Running is synchronous for now (the request waits for the audit); a
submit-then-poll job variant is future work."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.audit_models import AuditList, AuditOut
from api.auth import Caller, PageCaller
from api.errors import ERROR_RESPONSES
from api.state import Deps
from cognition.audit import audit_datasets
from cognition.audit.report import html_report
from cognition.errors import NotFound
from cognition.ledger import Ledger
from cognition.ledger.audits import AuditRecord

router = APIRouter(prefix="/v1/datasets/{dataset}", tags=["audits"], responses=ERROR_RESPONSES)
# The HTML route's errors are JSON like every route's: said explicitly, or FastAPI would
# document them as text/html (the route's own media type).
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}


def _latest(ledger: Ledger, dataset: str) -> AuditRecord:
    found = ledger.audits(dataset, limit=1)
    if not found:
        raise NotFound("audit", dataset)
    return found[0]


@router.get("/audits", response_model=AuditList, summary="The dataset's stored audits, newest first")
async def list_audits(
    dataset: str, caller: Caller, services: Deps, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> AuditList:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    records = await asyncio.to_thread(ledger.audits, dataset, limit)
    return AuditList(audits=[AuditOut.of(r) for r in records])


@router.get("/audits/latest", response_model=AuditOut, summary="The dataset's latest audit")
async def latest_audit(dataset: str, caller: Caller, services: Deps) -> AuditOut:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    return AuditOut.of(await asyncio.to_thread(_latest, ledger, dataset))


@router.get(
    "/audits/latest.html",
    response_class=HTMLResponse,
    responses=_JSON_ERRORS,
    summary="The latest audit as a self-contained HTML page, with trends over past audits",
)
async def latest_audit_html(dataset: str, caller: PageCaller, services: Deps) -> HTMLResponse:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    await asyncio.to_thread(_latest, ledger, dataset)  # no audit yet: 404
    return HTMLResponse(await asyncio.to_thread(html_report, ledger, [dataset]))


@router.post(
    "/audits",
    response_model=AuditOut,
    summary="Audit the dataset now (admin), store the audit and return it; synchronous",
)
async def run_audit(dataset: str, caller: Caller, services: Deps) -> AuditOut:
    runtime = services.runtime
    caller.require(runtime.ledger, dataset, "admin")
    await audit_datasets(runtime, [dataset])
    return AuditOut.of(_latest(runtime.ledger, dataset))
