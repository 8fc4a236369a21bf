"""Repairs of a dataset (admin; the history: any reader): a dry run by default, which says
exactly what would change; ``"apply": true`` changes it. Every run, dry or applied, is
recorded; the history lists them. Requeued documents go to the server's queue (the Arq
workers, or its own runner)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Caller
from api.errors import ERROR_RESPONSES
from api.state import Deps
from cognition.audit.repairs import RepairRun
from cognition.ledger.repairs import RepairRecord
from ingest.repairs import apply_repairs, plan_repairs

Kind = Literal["orphans", "vectors", "stray", "duplicates", "failed"]

router = APIRouter(prefix="/v1/datasets/{dataset}", tags=["repairs"], responses=ERROR_RESPONSES)


class RepairRequest(BaseModel):
    only: list[Kind] | None = Field(
        default=None,
        description="the kinds to repair (default: all but duplicates, whose merges are asked for by name)",
    )
    pairs: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="duplicates: only these merges, as a dry run lists them (kept<-dropped ids)",
    )
    apply: bool = Field(default=False, description="make the changes (default: a dry run)")


class ChangeOut(BaseModel):
    id: str = Field(description="the entity, chunk, vector row or document; kept<-dropped for a merge")
    change: str = Field(description="one line a person reads")


class RepairOut(BaseModel):
    kind: Kind
    found: int = Field(description="defects of this kind the audit counts")
    changes: list[ChangeOut] = Field(description="what would change (dry run) or changed")
    skipped: list[ChangeOut] = Field(description="items left alone, with why")


class RepairRunOut(BaseModel):
    dataset: str
    dry_run: bool
    at: float = Field(description="Unix time")
    repairs: list[RepairOut]
    jobs: list[str] = Field(description="jobs queued for requeued documents")


class RepairRecordOut(BaseModel):
    id: int | None
    dataset: str
    at: float = Field(description="Unix time")
    kind: Kind
    dry_run: bool
    count: int = Field(description="items that would change (dry run) or changed")
    details: dict[str, Any] = Field(description="found, changes and skipped items")

    @classmethod
    def of(cls, record: RepairRecord) -> RepairRecordOut:
        return cls.model_validate(record, from_attributes=True)


class RepairList(BaseModel):
    repairs: list[RepairRecordOut] = Field(description="newest first, one per kind and run")


@router.post(
    "/repairs",
    response_model=RepairRunOut,
    summary="Plan (default) or apply repairs of the dataset (admin); recorded either way",
)
async def repair(dataset: str, body: RepairRequest, caller: Caller, services: Deps) -> RepairRunOut:
    runtime = services.runtime
    caller.require(runtime.ledger, dataset, "admin")
    run: RepairRun
    if body.apply:
        run = await apply_repairs(runtime, services.submitter(), dataset, body.only, body.pairs)
    else:
        run = await plan_repairs(runtime, dataset, body.only, body.pairs)
    return RepairRunOut.model_validate(run.to_json())


@router.get("/repairs", response_model=RepairList, summary="The dataset's recorded repairs, newest first")
async def list_repairs(
    dataset: str, caller: Caller, services: Deps, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> RepairList:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)  # what was repaired, like the audits, is for every reader
    records = await asyncio.to_thread(ledger.repairs, dataset, limit)
    return RepairList(repairs=[RepairRecordOut.of(r) for r in records])
