"""Jobs: status and progress of a submission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Caller
from api.errors import ERROR_RESPONSES
from api.models import JobList, JobOut
from api.state import Deps
from ingest import catalog

router = APIRouter(tags=["jobs"], responses=ERROR_RESPONSES)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, summary="A job: state, progress, failures, ETA")
async def get_job(job_id: str, caller: Caller, services: Deps) -> JobOut:
    ledger = services.runtime.ledger
    job = catalog.job_status(ledger, job_id, caller.readable(ledger))
    return JobOut.model_validate(job.to_json())


@router.get("/v1/datasets/{dataset}/jobs", response_model=JobList, summary="A dataset's jobs, newest first")
async def list_jobs(
    dataset: str,
    caller: Caller,
    services: Deps,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobList:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    return JobList(
        jobs=[
            JobOut.model_validate(catalog.status_of(j, ledger).to_json())
            for j in ledger.jobs(dataset, limit=limit)
        ]
    )
