"""The write profile (``COGNITION_API__MCP_WRITE=true``): submit a file, a URL or a crawl,
follow a job, delete a document. Submissions answer at once with their job (submit, then
poll ``job_status``): no tool waits for an import. Deleting is a dry run unless
``confirm`` is true."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from pydantic import Field

from api.errors import ApiError
from api.mcp.reads import Access, Name, guarded, make_tool
from api.mcp.results import Answer, dumps
from api.services import Services
from ingest import catalog
from ingest.jobs import Rejected, Submission
from ingest.scope import Scope
from ingest.web.spec import CrawlSpec

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# A submission adds (never replaces); the same one again is answered as a conflict.
SUBMIT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
FETCH = SUBMIT.model_copy(update={"open_world_hint": True})  # crawls fetch from the web
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://")]


def write_tools(access: Access) -> list[Tool]:
    return [
        make_tool(tool(access), name, summary, hints)
        for name, tool, summary, hints in (
            (
                "submit_path",
                _submit_path,
                "Import a PDF or Markdown file on the server. Returns a job.",
                SUBMIT,
            ),
            ("submit_url", _submit_url, "Import one web page. Returns a job.", FETCH),
            ("submit_crawl", _submit_crawl, "Crawl a site from seed URLs. Returns a job.", FETCH),
            ("job_status", _job_status, "A job's state, progress, failures, ETA.", READ_ONLY),
            ("delete_document", _delete_document, "Delete a document (dry run unless confirm=true).", DELETE),
        )
    ]


def _submit_path(access: Access) -> Any:
    async def submit_path(
        ctx: Context, dataset: Name, path: Annotated[str, Field(min_length=1, max_length=4096)]
    ) -> Answer:
        services, caller = access.of(ctx)

        async def run() -> str:
            caller.require(services.runtime.ledger, dataset, "write")
            kind = "text" if path.lower().endswith((".md", ".markdown", ".txt")) else "pdf"
            return _submitted(await services.submitter().submit_file(dataset, Path(path), kind))

        return await guarded(run())

    return submit_path


def _submit_url(access: Access) -> Any:
    async def submit_url(ctx: Context, dataset: Name, url: Url) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_crawl(services, caller, dataset, CrawlSpec((url,), max_depth=0, max_pages=1)))

    return submit_url


def _submit_crawl(access: Access) -> Any:
    async def submit_crawl(
        ctx: Context,
        dataset: Name,
        seeds: Annotated[list[Url], Field(min_length=1, max_length=20)],
        include: Annotated[list[str], Field(max_length=50, description="URL globs")] = [],  # noqa: B006
        exclude: Annotated[list[str], Field(max_length=50)] = [],  # noqa: B006
        max_depth: Annotated[int | None, Field(ge=0, le=10)] = None,
        max_pages: Annotated[int | None, Field(ge=1, le=100_000)] = None,
    ) -> Answer:
        services, caller = access.of(ctx)
        spec = CrawlSpec(tuple(seeds), tuple(include), tuple(exclude), max_depth, max_pages)
        return await guarded(_crawl(services, caller, dataset, spec))

    return submit_crawl


async def _crawl(services: Services, caller: Scope, dataset: str, spec: CrawlSpec) -> str:
    caller.require(services.runtime.ledger, dataset, "write")
    return _submitted(await services.submitter().submit_crawl(dataset, spec))


def _submitted(item: Submission) -> str:
    """Accepted: the job to poll. Already stored or on its way: the same, said so (the
    API's 409). A bad submission is an error (the API's 422)."""
    if isinstance(item, Rejected):
        raise ApiError(422, "Rejected", item.reason, "correct the submission and send it again")
    found: dict[str, Any] = item.to_json()
    found["next"] = "poll job_status with job_id"
    return dumps(found)


def _job_status(access: Access) -> Any:
    async def job_status(ctx: Context, job_id: Name) -> Answer:
        services, caller = access.of(ctx)

        async def run() -> str:
            ledger = services.runtime.ledger
            return dumps(catalog.job_status(ledger, job_id, caller.readable(ledger)).to_json())

        return await guarded(run())

    return job_status


def _delete_document(access: Access) -> Any:
    async def delete_document(
        ctx: Context, dataset: Name, document_id: Name, confirm: bool = False
    ) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_delete(services, caller, dataset, document_id, confirm))

    return delete_document


async def _delete(services: Services, caller: Scope, dataset: str, document_id: str, confirm: bool) -> str:
    runtime = services.runtime
    caller.require(runtime.ledger, dataset, "write")
    record = catalog.get_document(runtime.ledger, dataset, document_id)
    found = {"document_id": record.doc_id, "title": record.title or record.source, "chunks": record.chunks}
    if not confirm:
        return dumps({"dry_run": True, "would_delete": found, "next": "call again with confirm=true"})
    await catalog.delete_document(runtime, dataset, document_id)
    return dumps({"dry_run": False, "deleted": found})
