"""The ledger port: the durable record of every document, one row per document and dataset.

It is the one record of document state, read by imports (skip, resume, replace), the queue
(conflicts, the reaper), and later the API's status routes and the audits. SQLite
implements it for the embedded default (``cognition.ledger.sqlite``), Postgres for several
hosts (``cognition.ledger.postgres``, chosen by ``ledger.url``), with one SQL (``base.py``).

A document goes ``queued`` (workers only) → ``reading`` (opened) → ``embedding`` (its first
batch is being embedded, outside any lock) → ``storing`` (batches are being written under
the dataset's write gate; ``chunks`` counts those stored) → ``stored``, or ends ``failed``
(with its reason, and whether retrying can help) or ``needs_ocr``. A row in a working state
names its ``owner`` (the process working on it): a row whose owner has ended marks a partial
document that the next import cleans and redoes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

from cognition.ledger.audits import AuditRecord
from cognition.ledger.jobs import JobRecord
from cognition.ledger.repairs import RepairRecord
from cognition.ledger.spend import Caps, Spend

State = Literal["queued", "reading", "embedding", "storing", "stored", "failed", "needs_ocr"]
IN_FLIGHT: tuple[State, ...] = ("queued", "reading", "embedding", "storing")
TERMINAL: tuple[State, ...] = ("stored", "failed", "needs_ocr")


@dataclass
class DocumentRecord:
    """One row of the ledger."""

    dataset: str
    doc_id: str
    source: str
    content_hash: str
    kind: str
    state: str
    title: str | None = None
    author: str | None = None
    pages: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    error: str | None = None
    permanent: int = 0
    attempts: int = 0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    store_seconds: float = 0.0
    total_seconds: float = 0.0
    pipeline_version: str = ""
    job_id: str | None = None  # set while the document goes through the queue
    fetched_at: float | None = None  # web pages: when the stored content was fetched
    owner: str | None = None  # the process working on it (host:pid), while in a working state
    created_at: float = 0.0
    updated_at: float = 0.0


COLUMNS = [f.name for f in fields(DocumentRecord)]


@dataclass(frozen=True)
class Failure:
    """Why one document failed, as recorded: ``permanent`` failures are never retried."""

    dataset: str
    doc_id: str
    source: str
    content_hash: str
    kind: str
    reason: str
    pipeline_version: str
    permanent: bool = True
    pages: int = 0


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    description: str
    version: int
    embedding_model: str | None
    embedding_dimensions: int | None
    created_at: float


@dataclass(frozen=True)
class StateCount:
    """Documents of one dataset in one state, counted by the database."""

    dataset: str
    state: str
    documents: int
    pages: int
    chunks: int


@dataclass(frozen=True)
class LedgerCounts:
    """The ledger in numbers (for ``/metrics``): counted by the database, not row by row.

    A document in a working state with an owner is ``interrupted`` if its owner has ended,
    which only this process can tell: those rows (a few at any time) come whole, in
    ``working``, and are left out of ``documents``."""

    datasets: list[str]
    documents: list[StateCount]
    working: list[DocumentRecord]
    jobs: dict[tuple[str, str], int]  # (dataset, state) -> how many jobs


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`Ledger.claim`: the row as it was, and who holds it if not us."""

    granted: bool
    previous: DocumentRecord | None
    holder: str | None = None


class Ledger(Protocol):
    """Document and dataset records. Every call is its own short transaction."""

    def upsert(self, record: DocumentRecord) -> None: ...

    def get(self, dataset: str, doc_id: str) -> DocumentRecord | None: ...

    def update(self, dataset: str, doc_id: str, **changes: Any) -> None: ...

    def set_state(self, dataset: str, doc_id: str, state: State, **changes: Any) -> None: ...

    def record_failure(self, failure: Failure) -> DocumentRecord:
        """The one way to record a failed document: its attempts counted once per attempt,
        its job id and creation time kept, its owner cleared."""
        ...

    def claim(self, record: DocumentRecord, owner: str, alive: Any) -> Claim:
        """Take a document for this process (``owner``): refused if it is stored (or waits
        for OCR), or another owner that ``alive(previous)`` says is still running holds it in
        a working state. A granted claim writes ``record`` (attempts counted, job id kept)."""
        ...

    def mark_queued(self, record: DocumentRecord) -> bool: ...

    def queued_in_flight(self) -> list[DocumentRecord]: ...

    def by_source(self, dataset: str, source: str) -> list[DocumentRecord]: ...

    def documents(self, dataset: str, state: str | None = None) -> list[DocumentRecord]: ...

    def delete(self, dataset: str, doc_id: str) -> None: ...

    def register_dataset(self, name: str, description: str = "") -> None: ...

    def dataset(self, name: str) -> DatasetRecord | None: ...

    def set_embedding(self, name: str, model: str, dimensions: int) -> None:
        """Record the embedding model a dataset's vectors are made with (first write)."""
        ...

    def bump_version(self, name: str) -> None: ...

    def dataset_version(self, name: str) -> int | None: ...

    def datasets(self) -> list[str]: ...

    def documents_page(
        self, dataset: str, state: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[DocumentRecord]:
        """A page of documents in (source, id) order, after the key ``after``."""
        ...

    def forget_dataset(self, name: str) -> None:
        """Drop the dataset's documents, jobs and record."""
        ...

    def add_job(self, job: JobRecord) -> bool:
        """Record an accepted job; False if one with its id is queued or running."""
        ...

    def job(self, job_id: str) -> JobRecord | None: ...

    def update_job(self, job_id: str, **changes: Any) -> None: ...

    def jobs(
        self, dataset: str | None = None, states: tuple[str, ...] = (), limit: int = 100
    ) -> list[JobRecord]: ...

    def take_next_job(self, now: float) -> JobRecord | None:
        """The oldest queued job due now, marked running (for a process that runs jobs itself)."""
        ...

    def requeue_running_jobs(self) -> int: ...

    def counts(self) -> LedgerCounts:
        """Documents and jobs counted by dataset and state, in one read (one moment)."""
        ...

    def add_audit(self, record: AuditRecord) -> int:
        """Store one dataset's audit; its id."""
        ...

    def audits(self, dataset: str, limit: int = 100) -> list[AuditRecord]:
        """The dataset's audits, newest first."""
        ...

    def add_repair(self, record: RepairRecord) -> int:
        """Record one repair kind of a run (dry or applied); its id."""
        ...

    def repairs(self, dataset: str, limit: int = 100) -> list[RepairRecord]:
        """The dataset's recorded repairs, newest first."""
        ...

    def add_spend(self, paid: Spend) -> None:
        """Add one paid call (or several) to its dataset's, job's and model's totals."""
        ...

    def spend(self, dataset: str | None = None, job_id: str | None = None) -> list[Spend]:
        """Totals by dataset and model; of one dataset, of one job's, when given."""
        ...

    def set_budget(self, dataset: str, caps: Caps) -> None: ...

    def budget(self, dataset: str) -> Caps: ...
