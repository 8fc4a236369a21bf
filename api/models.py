"""Request and response bodies: every route's shapes are in the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.graph_models import ChunkOut, cited
from cognition.ledger import DocumentRecord
from cognition.search import Hit
from cognition.store.port import DatasetStats
from ingest.catalog import DatasetSummary, document_state
from ingest.jobs import Accepted, Conflict, Rejected
from ingest.manifest import Source
from ingest.query import SearchAnswer

Mode = Literal["vector", "graph", "hybrid"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not ignored


# --------------------------------------------------------------------------- datasets


class DatasetOut(BaseModel):
    name: str
    description: str
    documents: dict[str, int] = Field(description="documents by state")
    pending: int = Field(description="documents queued or being imported")
    pages: int
    chunks: int
    last_import: float | None = Field(description="when a document was last stored (Unix time)")
    embedding_model: str | None
    embedding_dimensions: int | None
    created_at: float

    @classmethod
    def of(cls, summary: DatasetSummary) -> DatasetOut:
        return cls(**summary.to_json())  # type: ignore[arg-type]


class StatsOut(BaseModel):
    nodes: int
    edges: int
    documents: int
    chunks: int
    entities: int
    chunk_vectors: int
    entity_vectors: int

    @classmethod
    def of(cls, stats: DatasetStats) -> StatsOut:
        return cls(**stats.__dict__)


class DatasetDetail(DatasetOut):
    stats: StatsOut | None = Field(description="the store's counts; null until something is stored")


class DatasetList(BaseModel):
    datasets: list[DatasetOut]


class DatasetIn(Strict):
    """A dataset manifest as JSON: its sources are imported (files must lie in the server's
    import roots; crawls obey its crawl settings)."""

    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=2000)
    sources: list[Source] = Field(default_factory=list, max_length=100)
    # Each file job's own caps on paid models (the dataset's, `cognition budget set`, apply too).
    max_tokens: int | None = Field(default=None, ge=0)
    max_cost: float | None = Field(default=None, ge=0)


class SubmissionOut(BaseModel):
    status: Literal["accepted", "conflict", "rejected"]
    dataset: str
    source: str
    document_id: str | None = None
    job_id: str | None = None
    reason: str | None = None
    state: str | None = None

    @classmethod
    def of(cls, item: Accepted | Conflict | Rejected) -> SubmissionOut:
        if isinstance(item, Accepted):
            return cls(
                status="accepted",
                dataset=item.dataset,
                source=item.source,
                document_id=item.doc_id or None,
                job_id=item.job_id,
            )
        if isinstance(item, Conflict):
            return cls(
                status="conflict",
                dataset=item.dataset,
                source=item.source,
                document_id=item.doc_id or None,
                job_id=item.job_id,
                reason=item.reason,
                state=item.state,
            )
        return cls(status="rejected", dataset=item.dataset, source=item.source, reason=item.reason)


class DatasetCreated(BaseModel):
    dataset: DatasetOut
    created: bool = Field(description="false when the dataset existed already")
    submissions: list[SubmissionOut]


class Deleted(BaseModel):
    deleted: str
    documents: int = 0
    dry_run: bool = False


# --------------------------------------------------------------------------- documents


class DocumentOut(BaseModel):
    dataset: str
    document_id: str
    title: str | None
    source: str
    kind: str
    state: str
    pages: int
    chunks: int
    entities: int
    error: str | None
    retryable: bool | None = Field(description="for a failed document: whether submitting it again can help")
    attempts: int
    job_id: str | None
    content_hash: str
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, r: DocumentRecord) -> DocumentOut:
        return cls(
            dataset=r.dataset,
            document_id=r.doc_id,
            title=r.title,
            source=r.source,
            kind=r.kind,
            state=document_state(r),
            pages=r.pages,
            chunks=r.chunks,
            entities=r.entities,
            error=r.error,
            retryable=None if r.state != "failed" else not r.permanent,
            attempts=r.attempts,
            job_id=r.job_id,
            content_hash=r.content_hash,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


class CrawlIn(Strict):
    seeds: list[str] = Field(min_length=1, max_length=20)
    include: list[str] = Field(default_factory=list, max_length=50)
    exclude: list[str] = Field(default_factory=list, max_length=50)
    max_depth: int | None = Field(default=None, ge=0, le=10)
    max_pages: int | None = Field(default=None, ge=1, le=100_000)
    same_site: bool = True


# --------------------------------------------------------------------------- jobs


class Counted(BaseModel):
    total: int
    done: int
    failed: int = 0


class FailureOut(BaseModel):
    source: str
    reason: str


class ModelSpendOut(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int
    cost: float  # US dollars, at the prices of the settings (gemini.prices)


class SpendOut(ModelSpendOut):
    """Paid calls (cache hits cost nothing and are not counted), in total and by model."""

    models: dict[str, ModelSpendOut]


class BudgetOut(BaseModel):
    """A dataset's caps (None: no cap) and what is left under each."""

    max_tokens: int | None
    max_cost: float | None
    tokens_left: int | None
    cost_left: float | None


class DatasetSpendOut(BaseModel):
    dataset: str
    spend: SpendOut
    budget: BudgetOut


class JobOut(BaseModel):
    job_id: str
    dataset: str
    kind: Literal["file", "crawl", "audit"]
    source: str
    state: Literal["queued", "running", "done", "failed"]
    document_id: str | None
    attempts: int
    parks: int = Field(
        default=0, description="times the job waited for its model provider (a used-up day, an open circuit)"
    )
    documents: Counted
    pages: Counted
    failures: list[FailureOut]
    error: str | None
    result: dict[str, Any] | None = None  # what the job returned (an audit: its id and status)
    spend: SpendOut | None = None  # what the job paid for, over all its attempts
    eta_seconds: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None


class JobList(BaseModel):
    jobs: list[JobOut]


# --------------------------------------------------------------------------- search


class Filters(Strict):
    document_ids: list[str] = Field(default_factory=list, max_length=100)
    source_prefix: str | None = Field(default=None, max_length=2000)
    section: str | None = Field(default=None, max_length=200)


class SearchIn(Strict):
    query: str = Field(min_length=1, max_length=2000)
    datasets: list[str] = Field(
        default_factory=list, max_length=50, description="empty: every dataset the key can read"
    )
    mode: Mode = "hybrid"
    top_k: int = Field(default=5, ge=1)
    filters: Filters = Field(default_factory=Filters)
    text_budget: int | None = Field(default=None, ge=100, description="characters of hit text in all")


class HitOut(ChunkOut):
    score: float
    entities: list[str] = Field(description="the entities that led to the hit")
    truncated: bool = Field(description="the text was cut to the budget; GET the chunk for all of it")

    @classmethod
    def of(cls, hit: Hit, truncated: bool) -> HitOut:  # type: ignore[override]
        return cls(
            **cited(hit, hit.chunk_id), score=round(hit.score, 6), entities=hit.entities, truncated=truncated
        )


class SearchOut(BaseModel):
    query: str
    mode: Mode
    datasets: list[str]
    status: Literal["ok", "no_match", "importing", "empty"]
    message: str
    pending_documents: int
    hits: list[HitOut]

    @classmethod
    def of(cls, answer: SearchAnswer) -> SearchOut:
        return cls(
            query=answer.query,
            mode=answer.mode,  # type: ignore[arg-type]  # checked by the searcher
            datasets=answer.datasets,
            status=answer.status,
            message=answer.message,
            pending_documents=answer.pending_documents,
            hits=[HitOut.of(h, answer.truncated(h)) for h in answer.hits],
        )


# --------------------------------------------------------------------------- health


class Health(BaseModel):
    status: Literal["ok"]


class BackendCheck(BaseModel):
    """One backend's readiness check."""

    name: str = Field(description="ledger, redis, graph, vectors, cognee_db (or store)")
    ok: bool
    required: bool = Field(description="a required backend that is down makes the server not ready (503)")
    error: str | None = Field(description="why not, in one line (no secret)")
    seconds: float = Field(description="how long the check took")


class Readiness(BaseModel):
    # degraded: ready (200), but a Gemini model cannot be called now (its circuit is open,
    # its day's quota used up): stored data is served, imports of new data wait
    status: Literal["ready", "degraded", "not_ready"]
    checks: dict[str, str]  # each backend: "ok", or its error
    imports: Literal["queue", "in_process"]
    degraded: list[str] = []  # why, one line per model
    governor: list[dict[str, Any]] | None = None  # each Gemini model's state, when one is configured
    backends: list[BackendCheck] = []
