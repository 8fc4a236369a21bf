"""Bulk import: files and folders into a dataset, idempotently and resumably.

For each file: hash it; skip it if the dataset already stores those bytes (or another live
process is importing them); clean and redo it if an earlier run stopped in the middle of it;
replace the older version stored from the same path. Every outcome is recorded in the
ledger, and a bad file fails alone.

A document is read, extracted and embedded batch by batch outside the dataset's write gate;
the gate is held for one batch's write at a time, while the next batch is embedded.
``imports.concurrency`` documents are in flight at once, the longest first, so one is
embedded while another is being read or stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognition.budget import Account, BudgetExhausted, charging, spend_json
from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.errors import DocumentError, SourceUnreadable
from cognition.ledger import IN_FLIGHT, Caps, DocumentRecord, Failure, owner_alive, this_process
from cognition.runtime import Runtime
from cognition.store.port import DocumentBatch, DocumentNode
from ingest.files import Chunks, collect_files, open_source
from ingest.outcomes import ImportSummary, NoProgress, Outcome, Progress, Status
from ingest.paths import require_utf8_name, source_of
from ingest.pdf import PdfBook, sha256_file
from ingest.pipeline import PIPELINE_VERSION, DocumentCounts, DocumentPipeline
from ingest.targets import Targets

NEEDS_OCR = "no text layer: the pages are images (run OCR first)"
STOPPED = "budget reached, resumable:"


@dataclass
class _Doc:
    """One document of a run, and everything its steps need."""

    dataset: str
    path: Path
    source: str
    kind: str
    content_hash: str
    doc_id: str
    replaces: list[DocumentRecord]
    book: PdfBook | None = None
    chunks: Chunks | None = None
    partial: bool = False  # an earlier attempt may have stored part of it

    def node(self) -> DocumentNode:
        assert self.book is not None
        return DocumentNode(
            id=self.doc_id,
            title=self.book.title,
            source=self.source,
            content_hash=self.content_hash,
            kind=self.kind,
            pages=self.book.page_count,
            author=self.book.author,
        )


class Importer:
    """Imports files into datasets with a runtime's store, embedder, extractor and ledger.
    The store and the model are started only when there is work to do."""

    def __init__(
        self,
        runtime: Runtime,
        progress: Progress | None = None,
        job_id: str | None = None,
        caps: Caps | None = None,
    ) -> None:
        """``job_id`` and ``caps``: the job whose spend this is, and its own caps (the
        dataset's come from the ledger); without a job id the run gets an id of its own."""
        self._runtime = runtime
        self._ledger = runtime.ledger
        self._progress = progress or NoProgress()
        self._owner = this_process()
        self._job_id, self._caps = job_id, caps
        self._stopped: BudgetExhausted | None = None

    async def import_targets(self, targets: Targets, password: str | None = None) -> ImportSummary:
        """Every file and crawl of ``targets`` (a manifest's sources) into its dataset."""
        self._ledger.register_dataset(targets.dataset, targets.description)
        started = time.perf_counter()
        summary = await self.import_files(targets.files, targets.dataset, password)
        for spec in targets.crawls:
            from ingest.web.importer import crawl_into

            crawled = await crawl_into(self._runtime, spec, targets.dataset, self._progress)
            summary.outcomes.extend(crawled.outcomes)
        summary.seconds = time.perf_counter() - started
        return summary

    async def import_paths(
        self, paths: Sequence[Path], dataset: str, password: str | None = None, kind: str | None = None
    ) -> ImportSummary:
        """Import files (folders are searched recursively) into ``dataset``."""
        return await self.import_files(collect_files(paths, kind), dataset, password)

    async def import_files(
        self, files: Sequence[tuple[Path, str]], dataset: str, password: str | None = None
    ) -> ImportSummary:
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        started = time.perf_counter()
        summary = ImportSummary(dataset=dataset)
        work: dict[str, _Doc] = {}
        for path, kind in files:
            planned = await asyncio.to_thread(self._plan, path, kind, dataset)
            if isinstance(planned, _Doc) and planned.doc_id in work:
                same = work[planned.doc_id].source
                planned = Outcome(planned.source, "skipped", f"same content as {same}")
            if isinstance(planned, Outcome):
                summary.outcomes.append(planned)
            else:
                work[planned.doc_id] = planned
        with charging(self._account(dataset)) as account:
            await self._run(list(work.values()), password, summary)
        summary.spend = {"job_id": account.job_id, **spend_json(self._ledger.spend(dataset, account.job_id))}
        if self._stopped is not None:
            left = [o.path for o in summary.outcomes if o.reason and o.reason.startswith(STOPPED)]
            summary.budget = stopped_report(self._stopped, left)
        summary.seconds = time.perf_counter() - started
        return summary

    def _account(self, dataset: str) -> Account:
        return account_for(self._runtime, dataset, self._job_id, self._caps)

    def _plan(self, path: Path, kind: str, dataset: str) -> Outcome | _Doc:
        """Decide what to do with one file without reading its content (hash only)."""
        source = source_of(path)
        try:
            require_utf8_name(path)
            if not path.is_file():
                raise SourceUnreadable(f"{path} does not exist or is not a file")
            content_hash = sha256_file(path)
        except DocumentError as exc:
            return self._failed(dataset, source, "", kind, exc)
        except OSError as exc:
            return self._failed(dataset, source, "", kind, SourceUnreadable(f"{path}: {exc}"))
        doc_id = document_id(dataset, content_hash)
        existing = self._ledger.get(dataset, doc_id)
        if existing is not None:
            known = _known(existing, self._owner)
            if known is not None:
                return Outcome(source, *known)
        older = [
            r for r in self._ledger.by_source(dataset, source) if r.doc_id != doc_id and r.state == "stored"
        ]
        return _Doc(dataset, path, source, kind, content_hash, doc_id, older)

    async def _run(self, docs: list[_Doc], password: str | None, summary: ImportSummary) -> None:
        opened: list[_Doc] = []
        for doc in docs:
            try:
                doc.book, doc.chunks = await asyncio.to_thread(self._open, doc, password)
            except DocumentError as exc:
                failed = self._failed(doc.dataset, doc.source, doc.content_hash, doc.kind, exc)
                summary.outcomes.append(failed)
                self._progress.document_finished(failed)
                continue
            opened.append(doc)
        if not opened:
            return
        self._progress.planned(len(opened), sum(_pages(d) for d in opened))
        dataset = opened[0].dataset
        self._runtime.claim_embedding(dataset)
        # The store starts (seconds: cognee's import and setup) while the first documents
        # are read and embedded; the first write waits for it.
        store_ready = asyncio.ensure_future(self._runtime.store.ensure_dataset(dataset))
        slots = asyncio.Semaphore(self._runtime.settings.imports.concurrency)

        async def one(doc: _Doc) -> Outcome:
            async with slots:
                outcome = await self._import_one(doc, store_ready)
            self._progress.document_finished(outcome)
            return outcome

        # Longest first: documents take their slots in this order, so a big book never starts
        # last and then runs alone while the other slots sit idle.
        order = sorted(range(len(opened)), key=lambda i: -_pages(opened[i]))
        try:
            outcomes = dict(zip(order, await _all_or_none([one(opened[i]) for i in order]), strict=True))
            summary.outcomes.extend(outcomes[i] for i in range(len(opened)))  # in the order given
        finally:
            store_ready.cancel()
            await asyncio.gather(store_ready, return_exceptions=True)

    def _open(self, doc: _Doc, password: str | None) -> tuple[PdfBook, Chunks]:
        settings = self._runtime.settings
        return open_source(
            doc.path, doc.kind, password, settings.chunking, settings.imports.max_pages, doc.content_hash
        )

    async def _import_one(self, doc: _Doc, store_ready: asyncio.Future[None]) -> Outcome:
        started = time.perf_counter()
        claim = self._ledger.claim(self._record(doc), self._owner, owner_alive)
        if not claim.granted:
            known = _known(claim.previous, self._owner) if claim.previous else None
            return Outcome(doc.source, *(known or ("skipped", "in progress in another process")))
        doc.partial = claim.previous is not None and claim.previous.state != "stored"
        self._progress.document_started(doc.source, _pages(doc))
        try:
            counts = await self._pipeline(doc, store_ready)
        except DocumentError as exc:
            async with self._runtime.gate.hold(doc.dataset):
                await self._runtime.store.delete_document(doc.dataset, doc.doc_id)
            return self._failed(doc.dataset, doc.source, doc.content_hash, doc.kind, exc, _pages(doc))
        except BudgetExhausted as exc:  # resumable: it is redone (from the cache) once the cap allows
            self._stopped = self._stopped or exc
            stopped = f"{STOPPED} {exc}"
            self._record_resumable(doc, stopped)
            return Outcome(doc.source, "failed", stopped, pages=_pages(doc))
        except BaseException as exc:  # interrupted (Ctrl-C, a lost lease) or the store failed
            reason = "interrupted" if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt) else None
            self._record_resumable(
                doc, f"{reason or type(exc).__name__ + ': ' + str(exc)}: import again to redo it"
            )
            raise
        return self._finish(doc, counts, time.perf_counter() - started)

    def _record_resumable(self, doc: _Doc, reason: str) -> None:
        """The document failed for a reason the next import may not meet: not permanent."""
        failure = Failure(
            doc.dataset,
            doc.doc_id,
            doc.source,
            doc.content_hash,
            doc.kind,
            reason,
            PIPELINE_VERSION,
            permanent=False,
            pages=_pages(doc),
        )
        self._ledger.record_failure(failure)

    def _record(self, doc: _Doc) -> DocumentRecord:
        assert doc.book is not None
        return DocumentRecord(
            dataset=doc.dataset,
            doc_id=doc.doc_id,
            source=doc.source,
            content_hash=doc.content_hash,
            kind=doc.kind,
            state="reading",
            title=doc.book.title,
            author=doc.book.author,
            pages=doc.book.page_count,
            pipeline_version=PIPELINE_VERSION,
        )

    async def _pipeline(self, doc: _Doc, store_ready: asyncio.Future[None]) -> DocumentCounts:
        runtime, dataset = self._runtime, doc.dataset
        pipeline = DocumentPipeline(
            runtime.embedder, runtime.extractor, dataset, runtime.settings.imports.chunks_per_batch
        )
        stored = 0

        async def store(batch: DocumentBatch) -> None:
            """One batch, under the dataset's write gate: the first cleans what an earlier,
            interrupted attempt left behind."""
            nonlocal stored
            await asyncio.shield(store_ready)  # shared by every document of the run
            async with runtime.gate.hold(dataset):
                if stored == 0:
                    self._ledger.set_state(dataset, doc.doc_id, "storing", chunks=0)
                    if doc.partial:
                        await runtime.store.delete_document(dataset, doc.doc_id)
                await runtime.store.write(dataset, _one(batch))
            stored += len(batch.chunks)
            self._ledger.set_state(dataset, doc.doc_id, "storing", chunks=stored)

        assert doc.chunks is not None
        events = _DocumentEvents(self, doc)
        counts = await pipeline.run(doc.node(), doc.chunks, store, events)
        if counts.chunks and doc.replaces:  # the new version is stored: the older ones go
            async with runtime.gate.hold(dataset):
                for old in doc.replaces:
                    await runtime.store.delete_document(dataset, old.doc_id)
        events.embedded(_pages(doc))
        return counts

    def _finish(self, doc: _Doc, counts: DocumentCounts, seconds: float) -> Outcome:
        timings = {
            "read_seconds": counts.read_seconds,
            "extract_seconds": counts.extract_seconds,
            "store_seconds": counts.store_seconds,
            "total_seconds": seconds,
        }
        if counts.chunks == 0:
            self._ledger.set_state(
                doc.dataset, doc.doc_id, "needs_ocr", error=NEEDS_OCR, permanent=1, **timings
            )
            return Outcome(doc.source, "needs_ocr", NEEDS_OCR, pages=_pages(doc))
        for old in doc.replaces:
            self._ledger.delete(doc.dataset, old.doc_id)
        self._ledger.set_state(
            doc.dataset,
            doc.doc_id,
            "stored",
            chunks=counts.chunks,
            entities=len(counts.entities),
            relations=counts.relations,
            error=None,
            permanent=0,
            **timings,
        )
        self._ledger.bump_version(doc.dataset)
        status: Status = "replaced" if doc.replaces else "added"
        return Outcome(doc.source, status, pages=_pages(doc), chunks=counts.chunks)

    def _failed(
        self, dataset: str, source: str, content_hash: str, kind: str, exc: DocumentError, pages: int = 0
    ) -> Outcome:
        doc_id = (
            document_id(dataset, content_hash) if content_hash else str(stable_id("failed", dataset, source))
        )
        self._ledger.record_failure(
            Failure(dataset, doc_id, source, content_hash, kind, str(exc), PIPELINE_VERSION, pages=pages)
        )
        return Outcome(source, "failed", str(exc))


def account_for(
    runtime: Runtime, dataset: str, job_id: str | None = None, caps: Caps | None = None
) -> Account:
    """Who pays for an import's paid calls: the dataset, the job (or a run id), its caps."""
    gemini = runtime.settings.gemini
    return Account(runtime.ledger, dataset, gemini.prices, job_id, caps, gemini.expected_output_tokens)


def stopped_report(exc: BudgetExhausted, left: list[str]) -> dict[str, object]:
    """A run's ``budget`` report: which cap, what was spent, the sources left to resume."""
    return {**exc.to_json(), "reason": str(exc), "left": left}


def _known(record: DocumentRecord, owner: str) -> tuple[Status, str | None] | None:
    """What to answer without importing: stored, waiting for OCR, or being imported by
    another live process. None: import it."""
    if record.state == "stored":
        return "skipped", None
    if record.state == "needs_ocr":
        return "needs_ocr", NEEDS_OCR
    if record.state in IN_FLIGHT and record.owner and record.owner != owner and owner_alive(record):
        return "skipped", f"in progress in another process ({record.owner})"
    return None


class _DocumentEvents:
    """A document's pipeline events, into the ledger and the progress display."""

    def __init__(self, importer: Importer, doc: _Doc) -> None:
        self._ledger = importer._ledger
        self._progress = importer._progress
        self._doc = doc
        self._page = 0

    def embedding(self) -> None:
        self._ledger.set_state(self._doc.dataset, self._doc.doc_id, "embedding")

    def embedded(self, page: int) -> None:
        if page > self._page:
            self._progress.pages_done(page - self._page)
            self._page = page


def _pages(doc: _Doc) -> int:
    return doc.book.page_count if doc.book is not None else 0


async def _one(batch: DocumentBatch) -> AsyncIterator[list[DocumentBatch]]:
    yield [batch]


async def _all_or_none(jobs: Sequence[Coroutine[Any, Any, Outcome]]) -> list[Outcome]:
    """Run ``jobs`` concurrently and return their outcomes in order; if one raises, cancel
    the others, wait for them to unwind, and raise that error itself (not a group)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
