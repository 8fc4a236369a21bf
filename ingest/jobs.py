"""Queued ingestion, independent of the queue's technology: submissions with conflict
semantics, the job body with bounded retries, and the reaper of abandoned documents.

The ledger stays the one record of document state. The queue (``JobQueue``, implemented on
Arq in ``workers/``) only carries jobs, and knows whether a job id is live.

Conflicts (HTTP 409 at the API): submitting content that is already stored answers
``Conflict("exists")``; content already queued or running answers ``Conflict("in_progress")``.
Both point at the document and its job. Clients treat a conflict as done and never retry it.

A job is untrusted input: anyone who can write to Redis can queue one. Before a worker reads
a file, ``FileJob.checked`` refuses a job whose arguments have the wrong shape, whose path
does not resolve (symlinks too) inside an import root, or whose bytes do not match its hash.
A refused job ends at once (never retried) with its reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.errors import ConfigurationError, DatasetError, DocumentError, SourceUnreadable
from cognition.ledger import IN_FLIGHT, Caps, DocumentRecord, Failure, JobRecord, Ledger
from cognition.paths import import_roots
from cognition.runtime import Runtime
from cognition.settings import QueueSettings
from ingest.importer import Importer
from ingest.job_checks import FileJob, RefusedJob, crawl_job, refuse, within_roots
from ingest.job_progress import JobProgress
from ingest.outcomes import ImportSummary
from ingest.parking import PROVIDER_STOPS, RetryLater, park
from ingest.paths import require_utf8_name, source_of
from ingest.pdf import sha256_file
from ingest.pipeline import PIPELINE_VERSION
from ingest.web.spec import CrawlSpec

INGEST_FILE = "ingest_file"
CRAWL_SITE = "crawl_site"


class JobQueue(Protocol):
    """What submission needs from a queue."""

    async def enqueue(self, job_id: str, function: str, arguments: dict[str, Any]) -> bool:
        """Queue a job under ``job_id``; False if a job with that id is queued, running, or
        finished recently (its result is kept)."""
        ...

    async def is_live(self, job_id: str) -> bool:
        """Whether a job with this id is queued or running."""
        ...

    async def forget(self, job_id: str) -> None:
        """Drop a finished job's kept result, so its id can be queued again."""
        ...


@dataclass(frozen=True)
class Accepted:
    dataset: str
    source: str
    doc_id: str
    job_id: str
    status: Literal["accepted"] = "accepted"

    def to_json(self) -> dict[str, str]:
        return {
            "status": self.status,
            "dataset": self.dataset,
            "source": self.source,
            "document_id": self.doc_id,
            "job_id": self.job_id,
        }


@dataclass(frozen=True)
class Conflict:
    """The content is already stored (``exists``) or on its way (``in_progress``)."""

    reason: Literal["exists", "in_progress"]
    dataset: str
    source: str
    doc_id: str
    job_id: str
    state: str
    status: Literal["conflict"] = "conflict"

    def to_json(self) -> dict[str, str]:
        return {
            "status": self.status,
            "reason": self.reason,
            "dataset": self.dataset,
            "source": self.source,
            "document_id": self.doc_id,
            "job_id": self.job_id,
            "state": self.state,
        }


@dataclass(frozen=True)
class Rejected:
    """The submission itself is bad (unreadable path): recorded, never queued."""

    dataset: str
    source: str
    reason: str
    status: Literal["rejected"] = "rejected"

    def to_json(self) -> dict[str, str]:
        return {"status": self.status, "dataset": self.dataset, "source": self.source, "reason": self.reason}


Submission = Accepted | Conflict | Rejected


def job_id_for(dataset: str, content_hash: str) -> str:
    """The one job id of a document: the same content for the same dataset and pipeline
    version can only be queued once."""
    return f"ingest:{dataset}:{content_hash}:{PIPELINE_VERSION}"


class Submitter:
    """Puts files on the queue, answering conflicts instead of queueing twice.

    ``roots`` are the directories workers may read (``cognition.paths.import_roots``): a file
    elsewhere is rejected here, at once, rather than refused later by a worker."""

    def __init__(self, ledger: Ledger, queue: JobQueue, roots: Sequence[Path]) -> None:
        self._ledger = ledger
        self._queue = queue
        self._roots = tuple(roots)

    async def submit_file(
        self, dataset: str, path: Path, kind: str = "pdf", caps: Caps | None = None
    ) -> Submission:
        """``caps``: the job's own spending caps, stored with the job (its arguments)."""
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        source = source_of(path)
        try:
            require_utf8_name(path)
            if not path.is_file():
                raise SourceUnreadable(f"{path} does not exist or is not a file")
            within_roots(path.absolute(), self._roots)
            content_hash = await asyncio.to_thread(sha256_file, path)
        except (DocumentError, OSError) as exc:
            reason = str(exc) if isinstance(exc, DocumentError) else f"{path}: {exc}"
            self._record_rejection(dataset, source, kind, reason)
            return Rejected(dataset, source, reason)
        doc_id = document_id(dataset, content_hash)
        job_id = job_id_for(dataset, content_hash)
        known = self._conflict(dataset, source, doc_id, job_id, await self._queue.is_live(job_id))
        if known is not None:
            return known
        existing = self._ledger.get(dataset, doc_id)
        if existing is not None and existing.state == "failed":
            await self._queue.forget(job_id)  # a failed document may be submitted again
        record = DocumentRecord(
            dataset=dataset,
            doc_id=doc_id,
            source=source,
            content_hash=content_hash,
            kind=kind,
            state="queued",
            title=path.stem,
            job_id=job_id,
            pipeline_version=PIPELINE_VERSION,
        )
        self._ledger.mark_queued(record)
        arguments: dict[str, Any] = {
            "dataset": dataset,
            "path": source,
            "kind": kind,
            "content_hash": content_hash,
        }
        if caps is not None:
            arguments.update({k: v for k, v in asdict(caps).items() if v is not None})
        job = JobRecord(job_id, dataset, "file", source, arguments, doc_id=doc_id, documents_total=1)
        if await self._record_job(job) and await self._queue.enqueue(job_id, INGEST_FILE, arguments):
            return Accepted(dataset, source, doc_id, job_id)
        found = self._conflict(dataset, source, doc_id, job_id, live=True)
        return found or Conflict("in_progress", dataset, source, doc_id, job_id, "queued")

    async def submit_crawl(self, dataset: str, spec: CrawlSpec) -> Accepted | Conflict:
        """Queue a crawl. The same crawl (dataset and spec) runs once at a time; once it has
        finished it may be queued again (that is how a site is kept current)."""
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        arguments = {"dataset": dataset, "spec": spec_to_json(spec)}
        digest = hashlib.sha256(json.dumps(arguments, sort_keys=True).encode()).hexdigest()
        job_id = f"crawl:{dataset}:{digest}:{PIPELINE_VERSION}"
        source = " ".join(spec.seeds)
        if await self.submit_job(JobRecord(job_id, dataset, "crawl", source, arguments), CRAWL_SITE):
            return Accepted(dataset, source, "", job_id)
        return Conflict("in_progress", dataset, source, "", job_id, "queued")

    async def submit_job(self, job: JobRecord, function: str) -> bool:
        """Record and queue a job whose id may run again once finished (a crawl, an audit);
        False if a job with its id is queued or running."""
        if await self._queue.is_live(job.job_id):
            return False
        await self._queue.forget(job.job_id)
        return await self._record_job(job) and await self._queue.enqueue(job.job_id, function, job.arguments)

    async def _record_job(self, job: JobRecord) -> bool:
        """Record the job in the ledger before it is queued. A row the ledger still calls
        queued or running although the queue no longer holds its job (Redis lost it) is
        replaced; False if the job is live (submitted twice at once)."""
        if self._ledger.add_job(job):
            return True
        if await self._queue.is_live(job.job_id):
            return False
        self._ledger.update_job(
            job.job_id, state="queued", attempts=0, error=None, result=None, started_at=None, finished_at=None
        )
        return True

    def _conflict(self, dataset: str, source: str, doc_id: str, job_id: str, live: bool) -> Conflict | None:
        record = self._ledger.get(dataset, doc_id)
        if record is None:
            return None
        if record.state in ("stored", "needs_ocr"):
            return Conflict("exists", dataset, record.source, doc_id, record.job_id or job_id, record.state)
        if record.state in IN_FLIGHT and live:
            return Conflict("in_progress", dataset, record.source, doc_id, job_id, record.state)
        return None

    def _record_rejection(self, dataset: str, source: str, kind: str, reason: str) -> None:
        doc_id = str(stable_id("failed", dataset, source))
        self._ledger.record_failure(Failure(dataset, doc_id, source, "", kind, reason, PIPELINE_VERSION))


def spec_to_json(spec: CrawlSpec) -> dict[str, Any]:
    return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(spec).items()}


PERMANENT: tuple[type[Exception], ...] = (DocumentError, DatasetError, ConfigurationError)


def backoff(attempt: int, policy: QueueSettings, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in [c/2, c], c = min(cap, base * 2^(attempt-1)).

    The lower bound keeps a retry from coming back at once; the spread keeps workers that
    failed together from retrying in step."""
    ceiling = min(policy.retry_cap_seconds, policy.retry_base_seconds * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


async def run_file_job(
    runtime: Runtime, arguments: Mapping[str, object], attempt: int, job_id: str | None = None
) -> dict[str, object]:
    """The body of an ``ingest_file`` job (an Arq worker's, or the API server's without Redis).

    A job that fails its checks (``FileJob.checked``) is refused: nothing is imported, the
    reason is the job's result and, if the job's document is waiting for it, its ledger row.
    Bad documents are recorded by the importer and end the job normally (never retried).
    Any other failure is transient: it is recorded on the document's row and the job is run
    again after a jittered exponential delay, at most ``queue.max_tries`` times in all.
    Progress and the outcome go to the job's ledger row (``job_id``), when there is one.
    """
    ledger, policy = runtime.ledger, runtime.settings.queue
    record = _JobRow(ledger, job_id, attempt)
    try:
        job = await asyncio.to_thread(FileJob.checked, arguments, import_roots(runtime.settings))
    except RefusedJob as exc:
        return record.finish(refuse(ledger, arguments, exc), failed=True)
    dataset, path, doc_id = job.dataset, job.path, job.doc_id
    try:
        summary: ImportSummary = await Importer(
            runtime, record.progress, job_id=job_id, caps=job.caps
        ).import_paths([path], dataset, kind=job.kind)
    except PERMANENT as exc:
        ledger.set_state(dataset, doc_id, "failed", error=str(exc), permanent=1)
        return record.finish({"dataset": dataset, "failed": [{"path": str(path), "reason": str(exc)}]}, True)
    except PROVIDER_STOPS as exc:  # parked until the provider may be called, or stopped
        later = park(ledger, job_id, attempt, exc, policy)
        parked = isinstance(later, RetryLater)
        ledger.set_state(dataset, doc_id, "queued" if parked else "failed", permanent=0, error=str(later))
        if isinstance(later, RetryLater):
            raise later from exc
        return record.finish({"dataset": dataset, "failed": [{"path": str(path), "reason": later}]}, True)
    except Exception as exc:  # transient by elimination: I/O, a busy store, a lost lock, Redis
        reason = f"{type(exc).__name__}: {exc}"
        if attempt >= policy.max_tries:
            ledger.set_state(
                dataset, doc_id, "failed", permanent=0, error=f"gave up after {attempt} attempts: {reason}"
            )
            return record.finish(
                {"dataset": dataset, "failed": [{"path": str(path), "reason": reason}]}, True
            )
        delay = backoff(attempt, policy)
        note = f"attempt {attempt}/{policy.max_tries} failed, retrying in {delay:.1f} s: {reason}"
        ledger.set_state(dataset, doc_id, "queued", permanent=0, error=note)
        record.retry(delay, note)
        raise RetryLater(delay, reason) from exc
    return record.finish(summary.to_json(), _nothing_done(summary))


async def run_crawl_job(
    runtime: Runtime, arguments: Mapping[str, object], attempt: int, job_id: str | None = None
) -> dict[str, object]:
    """The body of a ``crawl_site`` job: the crawl records every URL's outcome itself; a
    failure of the whole crawl (the store, Redis) is retried like a document's."""
    from ingest.web.importer import crawl_into

    record = _JobRow(runtime.ledger, job_id, attempt)
    try:
        dataset, spec = crawl_job(arguments)
    except RefusedJob as exc:
        return record.finish({"refused": str(exc)}, failed=True)
    seeds = " ".join(spec.seeds)
    try:
        summary = await crawl_into(runtime, spec, dataset, record.progress)
    except PERMANENT as exc:
        return record.finish({"dataset": dataset, "failed": [{"path": seeds, "reason": str(exc)}]}, True)
    except PROVIDER_STOPS as exc:
        later = park(runtime.ledger, job_id, attempt, exc, runtime.settings.queue)
        if isinstance(later, RetryLater):
            raise later from exc
        return record.finish({"dataset": dataset, "failed": [{"path": seeds, "reason": later}]}, True)
    except Exception as exc:  # transient by elimination, as for documents
        reason = f"{type(exc).__name__}: {exc}"
        if attempt >= runtime.settings.queue.max_tries:
            reason = f"gave up after {attempt} attempts: {reason}"
            return record.finish({"dataset": dataset, "failed": [{"path": seeds, "reason": reason}]}, True)
        delay = backoff(attempt, runtime.settings.queue)
        record.retry(delay, reason)
        raise RetryLater(delay, reason) from exc
    return record.finish(summary.to_json(), _nothing_done(summary))


def _nothing_done(summary: ImportSummary) -> bool:
    """A job failed when nothing was added, replaced or skipped and something failed."""
    done = any(summary.count(status) for status in ("added", "replaced", "skipped"))
    return not done and bool(summary.count("failed") or summary.count("needs_ocr"))


class _JobRow:
    """A running job's ledger row: started, progress, then done, failed or to be retried.
    Without a job id (a job queued before jobs were recorded) it records nothing."""

    def __init__(self, ledger: Ledger, job_id: str | None, attempt: int) -> None:
        self._ledger, self._job_id = ledger, job_id
        self.progress = JobProgress(ledger, job_id) if job_id else None
        if job_id:
            ledger.update_job(job_id, state="running", attempts=attempt, started_at=time.time(), error=None)

    def finish(self, result: dict[str, object], failed: bool) -> dict[str, object]:
        if self._job_id and self.progress is not None:
            self.progress.flush()
            error = result.get("refused") or _first_reason(result) if failed else None
            self._ledger.update_job(
                self._job_id,
                state="failed" if failed else "done",
                result=result,
                error=None if error is None else str(error),
                finished_at=time.time(),
            )
        return result

    def retry(self, delay: float, reason: str) -> None:
        if self._job_id:
            self._ledger.update_job(
                self._job_id, state="queued", error=reason, not_before=time.time() + delay
            )


def _first_reason(result: Mapping[str, object]) -> str | None:
    failed = result.get("failed")
    if isinstance(failed, list) and failed and isinstance(failed[0], dict):
        return str(failed[0].get("reason"))
    if result.get("needs_ocr"):
        return "no text layer: the pages are images (run OCR first)"
    return None
