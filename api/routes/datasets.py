"""Datasets: list, create (from a manifest body), describe, delete."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

from api.auth import Caller
from api.errors import ERROR_RESPONSES, ApiError
from api.models import (
    DatasetCreated,
    DatasetDetail,
    DatasetIn,
    DatasetList,
    DatasetOut,
    DatasetSpendOut,
    Deleted,
    StatsOut,
    SubmissionOut,
)
from api.state import Deps
from cognition.datasets import validate_dataset_name
from cognition.ledger import Caps
from ingest import catalog
from ingest.files import collect_files
from ingest.jobs import Rejected, Submission

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


@router.get("", response_model=DatasetList, summary="Datasets this key can read, with document counts")
async def list_datasets(caller: Caller, services: Deps) -> DatasetList:
    names = caller.readable(services.runtime.ledger)
    return DatasetList(
        datasets=[DatasetOut.of(s) for s in catalog.dataset_summaries(services.runtime.ledger, names)]
    )


@router.post(
    "",
    response_model=DatasetCreated,
    status_code=201,
    summary="Create a dataset and import its sources",
    responses={
        200: {"model": DatasetCreated, "description": "the dataset existed: its sources are submitted"}
    },
)
async def create_dataset(
    body: DatasetIn, caller: Caller, services: Deps, response: Response
) -> DatasetCreated:
    validate_dataset_name(body.name)
    ledger = services.runtime.ledger
    if not caller.may_create(body.name):
        if caller.may(body.name, "read") and ledger.dataset(body.name) is not None:
            caller.require(ledger, body.name, "write")  # 403: it exists and the key may see it
        raise ApiError(
            403,
            "Forbidden",
            "this key may not create datasets of this name",
            "ask an admin for a key with write on this name (or on '*')",
        )
    created = ledger.dataset(body.name) is None
    ledger.register_dataset(body.name, body.description)
    submitter = services.submitter()
    caps = Caps(body.max_tokens, body.max_cost)
    submissions: list[Submission] = []
    for source in body.sources:
        if source.kind == "crawl":
            submissions.append(await submitter.submit_crawl(body.name, source.crawl_spec()))
            continue
        for text in source.paths:
            path = Path(text)
            if not path.is_absolute():  # relative to what? The server's working directory is nobody's
                reason = f"{text}: a path in a manifest sent to the API must be absolute"
                submissions.append(Rejected(body.name, text, reason))
                continue
            for found, kind in collect_files([path], source.kind):
                submissions.append(await submitter.submit_file(body.name, found, kind, caps))
    if not created:
        response.status_code = 200
    summary = catalog.dataset_summaries(ledger, [body.name])[0]
    return DatasetCreated(
        dataset=DatasetOut.of(summary),
        created=created,
        submissions=[SubmissionOut.of(s) for s in submissions],
    )


@router.get(
    "/{dataset}", response_model=DatasetDetail, summary="A dataset: counts, store stats, model, last import"
)
async def describe_dataset(dataset: str, caller: Caller, services: Deps) -> DatasetDetail:
    caller.require(services.runtime.ledger, dataset)
    summary, stats = await catalog.describe_dataset(services.runtime, dataset)
    return DatasetDetail(
        **DatasetOut.of(summary).model_dump(), stats=None if stats is None else StatsOut.of(stats)
    )


@router.delete(
    "/{dataset}",
    response_model=Deleted,
    summary="Delete a dataset: graph, vectors, ledger rows, files (admin)",
)
async def delete_dataset(dataset: str, caller: Caller, services: Deps) -> Deleted:
    caller.require(services.runtime.ledger, dataset, "admin")
    documents = await catalog.delete_dataset(services.runtime, dataset)
    return Deleted(deleted=dataset, documents=documents)


@router.get(
    "/{dataset}/spend",
    response_model=DatasetSpendOut,
    summary="What the dataset paid for on paid models (by model), its caps and what is left",
)
async def dataset_spend(dataset: str, caller: Caller, services: Deps) -> DatasetSpendOut:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    return DatasetSpendOut.model_validate(catalog.dataset_spend(ledger, dataset))
