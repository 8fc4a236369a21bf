"""What the operator page shows, read from the ledger for the datasets a caller may read:
per dataset its health (the latest stored audit) and counts, the imports in progress with
their progress and ETA, the latest finished imports, and the recent failures with their
reasons. Counts come from the ledger's one aggregated read (as ``/metrics``), so the page
costs the same for ten documents or ten thousand; rows are read only where they are listed,
and each list is bounded.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from cognition.ledger import LIVE, JobRecord, Ledger, LedgerCounts
from cognition.ledger.audits import AuditRecord
from ingest.catalog import JobStatus, document_state, status_of
from ingest.scope import Scope

LISTED = 20  # rows per list: the newest, enough to see what is going on at 3 AM
FAILED_STATES = ("failed", "needs_ocr")


@dataclass(frozen=True)
class DatasetHealth:
    name: str
    description: str
    documents: dict[str, int]  # by state
    pages: int  # of stored documents
    chunks: int
    audit: AuditRecord | None  # the latest, or None: never audited

    @property
    def entities(self) -> int | None:
        """Entities in the graph when it was last audited (the audit's ``counts`` check)."""
        if self.audit is None:
            return None
        for check in self.audit.checks:
            if check.get("name") == "counts":
                nodes = (check.get("values") or {}).get("nodes") or {}
                return int(nodes.get("Entity", 0))
        return None


@dataclass(frozen=True)
class FailureRow:
    dataset: str
    what: str  # the document's title or source, or the job's source
    doc_id: str | None
    state: str  # failed | needs_ocr | a failed job
    reason: str
    at: float


@dataclass(frozen=True)
class OperatorView:
    caller: str  # the key's id, or "local"
    datasets: list[DatasetHealth]
    running: list[JobStatus]  # queued or running, newest first
    finished: list[JobStatus]  # done or failed, newest first
    failures: list[FailureRow]
    at: float = field(default_factory=time.time)


def operator_view(ledger: Ledger, scope: Scope) -> OperatorView:
    """Everything the page shows, for ``scope``'s readable datasets only."""
    counts = ledger.counts()
    names = scope.visible(counts.datasets)
    datasets = [_health(ledger, counts, name) for name in names]
    running: list[JobRecord] = []
    finished: list[JobRecord] = []
    for name in names:
        running += ledger.jobs(name, states=LIVE, limit=LISTED)
        finished += ledger.jobs(name, states=("done", "failed"), limit=LISTED)
    running.sort(key=lambda j: j.created_at, reverse=True)
    finished.sort(key=lambda j: j.finished_at or j.updated_at, reverse=True)
    return OperatorView(
        caller=scope.label,
        datasets=datasets,
        running=[status_of(j) for j in running[:LISTED]],
        finished=[status_of(j) for j in finished[:LISTED]],
        failures=_failures(ledger, names, finished),
    )


def _health(ledger: Ledger, counts: LedgerCounts, name: str) -> DatasetHealth:
    states: Counter[str] = Counter()
    pages = chunks = 0
    for row in counts.documents:
        if row.dataset == name:
            states[row.state] += row.documents
            if row.state == "stored":
                pages, chunks = pages + row.pages, chunks + row.chunks
    for record in counts.working:
        if record.dataset == name:
            states[document_state(record)] += 1
    found = ledger.dataset(name)
    latest = ledger.audits(name, limit=1)
    return DatasetHealth(
        name=name,
        description=found.description if found else "",
        documents=dict(sorted(states.items())),
        pages=pages,
        chunks=chunks,
        audit=latest[0] if latest else None,
    )


def _failures(ledger: Ledger, names: list[str], jobs: list[JobRecord]) -> list[FailureRow]:
    """Failed (and OCR-needing) documents, then failed jobs that left no document row (a
    crawl's seed that could not be fetched, a file that vanished), newest first."""
    rows: list[FailureRow] = []
    for name in names:
        for state in FAILED_STATES:
            for doc in ledger.documents(name, state):
                what = doc.title or doc.source
                reason = doc.error or ("needs OCR: no text layer" if state == "needs_ocr" else "")
                rows.append(FailureRow(name, what, doc.doc_id, state, reason, doc.updated_at))
    documents = {row.doc_id for row in rows}
    for job in jobs:
        if job.state == "failed" and job.doc_id not in documents:
            at = job.finished_at or job.updated_at
            rows.append(FailureRow(job.dataset, job.source, None, "failed job", job.error or "", at))
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:LISTED]
