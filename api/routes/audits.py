"""Audits of a dataset: the stored history, the latest (JSON or a self-contained HTML page),
and submitting one (a job, like an import: 202, then poll ``/v1/jobs/{job_id}``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from api.audit_models import AuditJobOut, AuditList, AuditOut
from api.auth import Caller, PageCaller
from api.errors import ERROR_RESPONSES
from api.state import Deps
from api.ui.page import SAFE_HEADERS
from cognition.audit.report import html_report
from cognition.errors import NotFound
from cognition.ledger import Ledger
from cognition.ledger.audits import AuditRecord
from ingest.audit_jobs import submit_audit

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
    return HTMLResponse(await asyncio.to_thread(html_report, ledger, [dataset]), headers=SAFE_HEADERS)


@router.post(
    "/audits",
    response_model=AuditJobOut,
    status_code=202,
    summary="Queue an audit of the dataset (admin); poll the job, then read the latest audit",
)
async def run_audit(dataset: str, caller: Caller, services: Deps, response: Response) -> AuditJobOut:
    caller.require(services.runtime.ledger, dataset, "admin")
    job_id, accepted = await submit_audit(services.submitter(), dataset)
    response.headers["Location"] = f"/v1/jobs/{job_id}"
    return AuditJobOut(job_id=job_id, dataset=dataset, status="accepted" if accepted else "in_progress")
