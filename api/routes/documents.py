"""Documents: upload a PDF, submit a crawl, list, get, delete. Submissions answer 202 with
their job; 409 only when the content is already stored or on its way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.auth import Caller
from api.errors import ERROR_RESPONSES, ApiError, ConflictBody
from api.models import CrawlIn, Deleted, DocumentOut, DocumentPage, SubmissionOut
from api.state import Deps
from api.uploads import receive_pdf
from cognition.ledger import Caps
from ingest import catalog
from ingest.jobs import Accepted, Conflict, Submission
from ingest.web.spec import CrawlSpec

router = APIRouter(prefix="/v1/datasets/{dataset}", tags=["documents"], responses=ERROR_RESPONSES)

SUBMITTED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ConflictBody,
        "description": "already stored or in progress: points at the document and job",
    },
    413: {"description": "larger than the upload limit"},
    415: {"description": "not a PDF, or not multipart/form-data"},
}
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "a PDF"}},
                }
            }
        },
    }
}


def answer(item: Submission) -> SubmissionOut:
    """202 for an accepted submission; a conflict is the one 409; a rejection a 422."""
    if isinstance(item, Accepted):
        return SubmissionOut.of(item)
    if isinstance(item, Conflict):
        stored = item.reason == "exists"
        raise ApiError(
            409,
            "Conflict",
            "this content is already stored in the dataset"
            if stored
            else "this content is already being imported",
            "use the existing document" if stored else "poll the job for its progress",
            extra={
                "reason": item.reason,
                "dataset": item.dataset,
                "document_id": item.doc_id or None,
                "job_id": item.job_id,
                "state": item.state,
            },
        )
    raise ApiError(422, "Rejected", item.reason, "correct the submission and send it again")


@router.post(
    "/documents",
    response_model=SubmissionOut,
    status_code=202,
    summary="Upload a PDF (multipart 'file'); 202 with its job",
    responses=SUBMITTED,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_document(
    dataset: str,
    request: Request,
    caller: Caller,
    services: Deps,
    max_tokens: Annotated[int | None, Query(ge=0, description="the job's cap on paid tokens")] = None,
    max_cost: Annotated[float | None, Query(ge=0, description="the job's cap in US dollars")] = None,
) -> SubmissionOut:
    caller.require(services.runtime.ledger, dataset, "write")
    received = await receive_pdf(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        services.runtime.paths.uploads,
        dataset,
        services.settings.api.max_upload_bytes,
    )
    caps = Caps(max_tokens, max_cost)
    return answer(await services.submitter().submit_file(dataset, received.path, "pdf", caps))


@router.post(
    "/crawls",
    response_model=SubmissionOut,
    status_code=202,
    summary="Submit a crawl; 202 with its job",
    responses={409: SUBMITTED[409]},
)
async def submit_crawl(dataset: str, body: CrawlIn, caller: Caller, services: Deps) -> SubmissionOut:
    caller.require(services.runtime.ledger, dataset, "write")
    spec = CrawlSpec(
        tuple(body.seeds),
        tuple(body.include),
        tuple(body.exclude),
        body.max_depth,
        body.max_pages,
        body.same_site,
    )
    return answer(await services.submitter().submit_crawl(dataset, spec))


@router.get(
    "/documents", response_model=DocumentPage, summary="Documents with state, pages, chunks, source, error"
)
async def list_documents(
    dataset: str,
    caller: Caller,
    services: Deps,
    state: Annotated[str | None, Query(max_length=20, description="only documents in this state")] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> DocumentPage:
    caller.require(services.runtime.ledger, dataset)
    api = services.settings.api
    size = limit or api.page_size
    if size > api.max_page_size:
        raise ApiError(422, "InvalidRequest", f"limit: at most {api.max_page_size}", "ask for fewer")
    page = catalog.documents_page(services.runtime.ledger, dataset, state, cursor, size)
    return DocumentPage(documents=[DocumentOut.of(r) for r in page.documents], next_cursor=page.next_cursor)


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document")
async def get_document(dataset: str, document_id: str, caller: Caller, services: Deps) -> DocumentOut:
    caller.require(services.runtime.ledger, dataset)
    return DocumentOut.of(catalog.get_document(services.runtime.ledger, dataset, document_id))


@router.delete(
    "/documents/{document_id}",
    response_model=Deleted,
    summary="Delete a document: its chunks, vectors and mentions (entities others mention stay)",
)
async def delete_document(
    dataset: str, document_id: str, caller: Caller, services: Deps, dry_run: bool = False
) -> Deleted:
    caller.require(services.runtime.ledger, dataset, "write")
    if dry_run:
        record = catalog.get_document(services.runtime.ledger, dataset, document_id)
        return Deleted(deleted=record.doc_id, documents=1, dry_run=True)
    record = await catalog.delete_document(services.runtime, dataset, document_id)
    return Deleted(deleted=record.doc_id, documents=1)
