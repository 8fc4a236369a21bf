"""What the API, the MCP tools and the CLI say about datasets, documents and jobs, and how
they delete them. Reads come from the ledger (cheap, any process); deletes hold the
dataset's write gate and go through the store port.

Nothing here checks who asks: callers pass only the datasets the caller may see.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from cognition.budget import caps_json, spend_json
from cognition.errors import CognitionError, DatasetNotFoundError, DocumentBusy, NotFound
from cognition.ledger import IN_FLIGHT, DocumentRecord, JobRecord, Ledger, owner_alive
from cognition.runtime import Runtime
from cognition.store.port import DatasetStats


def document_state(record: DocumentRecord) -> str:
    """A document in a working state whose process has ended (killed) is ``interrupted``:
    the next import, or a restarted server, redoes it."""
    if record.state in IN_FLIGHT and record.owner and not owner_alive(record):
        return "interrupted"
    return record.state


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    description: str
    documents: dict[str, int]  # by state
    pending: int  # documents queued or being imported
    pages: int  # pages of stored documents
    chunks: int
    last_import: float | None  # when a document was last stored
    embedding_model: str | None
    embedding_dimensions: int | None
    created_at: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def dataset_summaries(ledger: Ledger, names: Sequence[str]) -> list[DatasetSummary]:
    """Each named dataset the ledger knows, with its documents counted by state."""
    summaries = []
    for name in names:
        record = ledger.dataset(name)
        if record is None:
            continue
        rows = ledger.documents(name)
        stored = [r for r in rows if r.state == "stored"]
        states = Counter(document_state(r) for r in rows)
        summaries.append(
            DatasetSummary(
                name=name,
                description=record.description,
                documents=dict(sorted(states.items())),
                pending=sum(n for state, n in states.items() if state in IN_FLIGHT),
                pages=sum(r.pages for r in stored),
                chunks=sum(r.chunks for r in stored),
                last_import=max((r.updated_at for r in stored), default=None),
                embedding_model=record.embedding_model,
                embedding_dimensions=record.embedding_dimensions,
                created_at=record.created_at,
            )
        )
    return summaries


def dataset_overview(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Per dataset, how many documents are in each state (``cognition datasets``)."""
    return {s.name: s.documents for s in dataset_summaries(ledger, ledger.datasets())}


def require_dataset(ledger: Ledger, name: str) -> None:
    if ledger.dataset(name) is None:
        raise DatasetNotFoundError(name)


async def describe_dataset(runtime: Runtime, name: str) -> tuple[DatasetSummary, DatasetStats | None]:
    """The dataset's summary and its store's counts (None until something is stored)."""
    require_dataset(runtime.ledger, name)
    summary = dataset_summaries(runtime.ledger, [name])[0]
    if not await runtime.store.dataset_exists(name):
        return summary, None
    return summary, await runtime.store.stats(name)


async def delete_dataset(runtime: Runtime, name: str) -> int:
    """Everything of the dataset goes: graph, vectors, ledger rows and jobs, uploaded files.
    Returns how many documents it had."""
    require_dataset(runtime.ledger, name)
    documents = len(runtime.ledger.documents(name))
    async with runtime.gate.hold(name):
        await runtime.store.delete_dataset(name)
        runtime.ledger.forget_dataset(name)
        runtime.forget_dataset(name)
        shutil.rmtree(runtime.paths.uploads / name, ignore_errors=True)
    return documents


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class DocumentsPage:
    documents: list[DocumentRecord]
    next_cursor: str | None


def documents_page(
    ledger: Ledger, dataset: str, state: str | None, cursor: str | None, limit: int
) -> DocumentsPage:
    """One page of a dataset's documents, in source order; ``next_cursor`` continues it."""
    require_dataset(ledger, dataset)
    after = decode_cursor(cursor) if cursor else None
    rows = ledger.documents_page(dataset, state, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return DocumentsPage(rows, encode_cursor((rows[-1].source, rows[-1].doc_id)) if more and rows else None)


def encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The position an opaque cursor stands for; a cursor that is not one of ours is a
    ``CursorError`` (the API answers 422)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise CursorError(cursor) from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise CursorError(cursor)
    return value[0], value[1]


class CursorError(CognitionError):
    def __init__(self, cursor: str) -> None:
        super().__init__(f"not a cursor this server gave: {cursor[:40]!r}")


def get_document(ledger: Ledger, dataset: str, doc_id: str) -> DocumentRecord:
    require_dataset(ledger, dataset)
    record = ledger.get(dataset, doc_id)
    if record is None:
        raise NotFound("document", doc_id)
    return record


async def delete_document(runtime: Runtime, dataset: str, doc_id: str) -> DocumentRecord:
    """The document's chunks, vectors and mentions go; entities other documents mention
    stay. A document queued or being imported is refused (``DocumentBusy``): its import
    would store it again; one whose import was interrupted may go."""
    record = get_document(runtime.ledger, dataset, doc_id)
    if document_state(record) in IN_FLIGHT:
        raise DocumentBusy(
            f"document {doc_id} is {record.state} (job {record.job_id or '-'}): "
            "delete it when its import has ended"
        )
    async with runtime.gate.hold(dataset):
        if await runtime.store.dataset_exists(dataset):
            await runtime.store.delete_document(dataset, doc_id)
        runtime.ledger.delete(dataset, doc_id)
        runtime.ledger.bump_version(dataset)
    upload = runtime.paths.uploads / dataset / f"{record.content_hash}.pdf"
    if record.content_hash and record.source == str(upload):
        upload.unlink(missing_ok=True)
    return record


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class JobStatus:
    job: JobRecord
    eta_seconds: float | None
    spend: dict[str, object] | None = None

    def to_json(self) -> dict[str, object]:
        job = self.job
        return {
            "job_id": job.job_id,
            "dataset": job.dataset,
            "kind": job.kind,
            "source": job.source,
            "state": job.state,
            "document_id": job.doc_id,
            "attempts": job.attempts,
            "parks": job.parks,
            "documents": {
                "total": job.documents_total,
                "done": job.documents_done,
                "failed": job.documents_failed,
            },
            "pages": {"total": job.pages_total, "done": job.pages_done},
            "failures": job.failures,
            "error": job.error,
            "result": job.result,
            "spend": self.spend,
            "eta_seconds": self.eta_seconds,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }


def job_status(ledger: Ledger, job_id: str, visible: Sequence[str]) -> JobStatus:
    """A job of one of the ``visible`` datasets; any other is "not found"."""
    job = ledger.job(job_id)
    if job is None or job.dataset not in visible:
        raise NotFound("job", job_id)
    return status_of(job, ledger)


def status_of(job: JobRecord, ledger: Ledger | None = None) -> JobStatus:
    """A job's status; with the ledger, what it paid for (``spend``)."""
    spend = None if ledger is None else spend_json(ledger.spend(job.dataset, job.job_id))
    return JobStatus(job, _eta(job), spend)


def dataset_spend(ledger: Ledger, dataset: str) -> dict[str, object]:
    """A dataset's spend by model, its caps, and what is left under them."""
    rows = ledger.spend(dataset)
    return {"dataset": dataset, "spend": spend_json(rows), "budget": caps_json(ledger.budget(dataset), rows)}


def _eta(job: JobRecord) -> float | None:
    """Seconds left, from the pace so far (pages done since the job started)."""
    if job.state != "running" or not job.started_at or not job.pages_total or job.pages_done <= 0:
        return None
    elapsed = time.time() - job.started_at
    left = max(job.pages_total - job.pages_done, 0)
    return round(elapsed / job.pages_done * left, 1)
