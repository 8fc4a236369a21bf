"""Bulk import: files and folders into a dataset, idempotently and resumably.

For each file: hash it; skip it if the dataset already stores those bytes; clean and redo
it if an earlier run stopped in the middle of it; replace the older version stored from the
same path. Every outcome is recorded in the ledger, and a bad file fails alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.errors import DocumentError, SourceUnreadable
from cognition.gate import FileGate, WriteGate
from cognition.settings import ChunkingSettings, Settings
from cognition.store.port import DocumentBatch, DocumentNode, Store
from ingest.chunking import Chunk, chunk_pages
from ingest.extract.port import GraphExtractor
from ingest.ledger import IN_FLIGHT, DocumentRecord, Ledger, failure
from ingest.manifest import Manifest, expand_paths
from ingest.paths import require_utf8_name, source_of
from ingest.pdf import PdfBook, open_book, sha256_file
from ingest.pipeline import PIPELINE_VERSION, DocumentCounts, DocumentPipeline
from ingest.reader import read_pages
from ingest.text import open_text

Status = Literal["added", "skipped", "replaced", "failed", "needs_ocr"]


@dataclass
class Outcome:
    """What happened to one file."""

    path: str
    status: Status
    reason: str | None = None
    pages: int = 0
    chunks: int = 0


@dataclass
class ImportSummary:
    """The result of one import run (the ``--json`` output)."""

    dataset: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "added": self.count("added"),
            "skipped": self.count("skipped"),
            "replaced": self.count("replaced"),
            "failed": [{"path": o.path, "reason": o.reason} for o in self.outcomes if o.status == "failed"],
            "needs_ocr": [o.path for o in self.outcomes if o.status == "needs_ocr"],
            "pages": sum(o.pages for o in self.outcomes),
            "chunks": sum(o.chunks for o in self.outcomes),
            "seconds": round(self.seconds, 3),
        }


class Progress(Protocol):
    """Where an import reports progress (a rich bar for people, nothing for scripts)."""

    def planned(self, documents: int, pages: int) -> None: ...

    def document_started(self, path: str, pages: int) -> None: ...

    def pages_done(self, pages: int) -> None: ...

    def document_finished(self, outcome: Outcome) -> None: ...


class NoProgress:
    def planned(self, documents: int, pages: int) -> None: ...

    def document_started(self, path: str, pages: int) -> None: ...

    def pages_done(self, pages: int) -> None: ...

    def document_finished(self, outcome: Outcome) -> None: ...


@dataclass
class _Work:
    path: Path
    kind: str
    content_hash: str
    doc_id: str
    replaces: list[DocumentRecord]
    partial: bool


StoreFactory = Callable[[], Store]


class Importer:
    """Imports files into datasets. The store is created only when there is work to do."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        store_factory: StoreFactory,
        extractor: GraphExtractor,
        progress: Progress | None = None,
        gate: WriteGate | None = None,
    ) -> None:
        """``gate`` admits one writer per dataset (default: the data directory's file locks).

        A document is read, extracted and embedded batch by batch outside the gate; the gate
        is held for one batch's write at a time, while the next batch is embedded.
        ``imports.concurrency`` documents are in flight at once, the longest first, so one is
        embedded while another is being read or stored.
        """
        self._settings = settings
        self._ledger = ledger
        self._store_factory = store_factory
        self._store: Store | None = None
        self._extractor = extractor
        self._progress = progress or NoProgress()
        self._gate = gate or FileGate(settings.resolved_data_dir / "locks")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    async def import_manifest(self, manifest: Manifest, password: str | None = None) -> ImportSummary:
        """Import every file source of a manifest into its dataset."""
        self._ledger.register_dataset(manifest.name, manifest.description)
        summary = ImportSummary(dataset=manifest.name)
        started = time.perf_counter()
        for source in manifest.sources:
            if source.kind == "crawl":
                from ingest.web.importer import crawl_into

                crawled = await crawl_into(
                    self._settings,
                    self._ledger,
                    lambda: self.store,
                    self._extractor,
                    source.crawl_spec(),
                    manifest.name,
                    self._progress,
                )
                summary.outcomes.extend(crawled.outcomes)
                continue
            paths = expand_paths(source.paths, manifest.base_dir, source.kind)
            part = await self.import_paths(paths, manifest.name, password=password, kind=source.kind)
            summary.outcomes.extend(part.outcomes)
        summary.seconds = time.perf_counter() - started
        return summary

    async def import_paths(
        self, paths: Sequence[Path], dataset: str, password: str | None = None, kind: str | None = None
    ) -> ImportSummary:
        """Import files (folders are searched recursively) into ``dataset``."""
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        started = time.perf_counter()
        summary = ImportSummary(dataset=dataset)
        files = collect_files(paths, kind)
        work: dict[str, _Work] = {}
        for path, file_kind in files:
            outcome, item = await asyncio.to_thread(self._plan, path, file_kind, dataset)
            if item is not None and item.doc_id in work:
                same = work[item.doc_id].path.resolve()
                outcome, item = Outcome(str(path.resolve()), "skipped", f"same content as {same}"), None
            if outcome is not None:
                summary.outcomes.append(outcome)
            if item is not None:
                work[item.doc_id] = item
        await self._run(list(work.values()), dataset, password, summary)
        summary.seconds = time.perf_counter() - started
        return summary

    def _plan(self, path: Path, kind: str, dataset: str) -> tuple[Outcome | None, _Work | None]:
        """Decide what to do with one file without reading its content (hash only)."""
        source = source_of(path)
        try:
            require_utf8_name(path)
            if not path.is_file():
                raise SourceUnreadable(f"{path} does not exist or is not a file")
            content_hash = sha256_file(path)
        except DocumentError as exc:
            return self._failed(dataset, source, "", kind, exc), None
        except OSError as exc:
            return self._failed(dataset, source, "", kind, SourceUnreadable(f"{path}: {exc}")), None
        doc_id = document_id(dataset, content_hash)
        existing = self._ledger.get(dataset, doc_id)
        if existing is not None and existing.state in ("stored", "needs_ocr"):
            status: Status = "skipped" if existing.state == "stored" else "needs_ocr"
            reason = None if status == "skipped" else "no text layer: the pages are images (run OCR first)"
            return Outcome(source, status, reason), None
        older = [
            r for r in self._ledger.by_source(dataset, source) if r.doc_id != doc_id and r.state == "stored"
        ]
        partial = existing is not None and existing.state in IN_FLIGHT
        return None, _Work(path, kind, content_hash, doc_id, older, partial)

    async def _run(
        self, work: list[_Work], dataset: str, password: str | None, summary: ImportSummary
    ) -> None:
        opened: list[tuple[_Work, PdfBook, Callable[[], Iterator[Chunk]]]] = []
        for item in work:
            try:
                book, chunks = await asyncio.to_thread(
                    _open, item.path, item.kind, password, self._settings.chunking
                )
            except DocumentError as exc:
                failed = self._failed(dataset, str(item.path.resolve()), item.content_hash, item.kind, exc)
                summary.outcomes.append(failed)
                self._progress.document_finished(failed)
                continue
            opened.append((item, book, chunks))
        self._progress.planned(len(opened), sum(book.page_count for _, book, _ in opened))
        # The store starts (seconds: cognee's import and setup) while the first documents
        # are read and embedded; the first write waits for it.
        store_ready = asyncio.ensure_future(self.store.ensure_dataset(dataset)) if opened else None
        slots = asyncio.Semaphore(self._settings.imports.concurrency)

        async def one(item: _Work, book: PdfBook, chunks: Callable[[], Iterator[Chunk]]) -> Outcome:
            async with slots:
                outcome = await self._import_one(item, book, chunks, dataset, store_ready)
            self._progress.document_finished(outcome)
            return outcome

        # Longest first: documents take their slots in this order, so a big book never starts
        # last and then runs alone while the other slots sit idle.
        order = sorted(range(len(opened)), key=lambda i: -opened[i][1].page_count)
        try:
            outcomes = dict(zip(order, await _all_or_none([one(*opened[i]) for i in order]), strict=True))
            summary.outcomes.extend(outcomes[i] for i in range(len(opened)))  # in the order given
        finally:
            if store_ready is not None:
                store_ready.cancel()
                await asyncio.gather(store_ready, return_exceptions=True)

    async def _import_one(
        self,
        item: _Work,
        book: PdfBook,
        chunks: Callable[[], Iterator[Chunk]],
        dataset: str,
        store_ready: asyncio.Future[None] | None,
    ) -> Outcome:
        source = str(item.path.resolve())
        started = time.perf_counter()
        self._progress.document_started(source, book.page_count)
        record = DocumentRecord(
            dataset=dataset,
            doc_id=item.doc_id,
            source=source,
            content_hash=item.content_hash,
            kind=item.kind,
            state="reading",
            title=book.title,
            author=book.author,
            pages=book.page_count,
            pipeline_version=PIPELINE_VERSION,
        )
        previous = self._ledger.get(dataset, item.doc_id)
        record.attempts = (previous.attempts if previous else 0) + 1
        record.job_id = previous.job_id if previous else None
        record.created_at = previous.created_at if previous else 0.0
        self._ledger.upsert(record)
        try:
            counts = await self._pipeline(item, book, chunks, dataset, store_ready)
        except DocumentError as exc:
            async with self._gate.hold(dataset):
                await self.store.delete_document(dataset, item.doc_id)
                await self.store.release(dataset)
            return self._failed(dataset, source, item.content_hash, item.kind, exc, book.page_count)
        return await self._finish(item, record, counts, time.perf_counter() - started)

    async def _pipeline(
        self,
        item: _Work,
        book: PdfBook,
        chunks: Callable[[], Iterator[Chunk]],
        dataset: str,
        store_ready: asyncio.Future[None] | None,
    ) -> DocumentCounts:
        node = DocumentNode(
            id=item.doc_id,
            title=book.title,
            source=str(item.path.resolve()),
            content_hash=item.content_hash,
            kind=item.kind,
            pages=book.page_count,
            author=book.author,
        )
        pipeline = DocumentPipeline(
            self.store, self._extractor, dataset, self._settings.imports.chunks_per_batch
        )
        stored = 0

        async def store(batch: DocumentBatch) -> None:
            """One batch, under the dataset's write gate: the first cleans what an earlier,
            interrupted attempt left behind."""
            nonlocal stored
            if store_ready is not None:
                await asyncio.shield(store_ready)  # shared by every document of the run
            async with self._gate.hold(dataset):
                try:
                    if stored == 0:
                        self._ledger.set_state(dataset, item.doc_id, "storing", chunks=0)
                        await self._clean(item, dataset)
                    await pipeline.write(batch)
                finally:
                    await self.store.release(dataset)
            stored += len(batch.chunks)
            self._ledger.set_state(dataset, item.doc_id, "storing", chunks=stored)

        events = _DocumentEvents(self._ledger, self._progress, dataset, item.doc_id)
        counts = await pipeline.run(node, chunks, store, events)
        if counts.chunks and item.replaces:
            async with self._gate.hold(dataset):
                try:
                    await self._replace_older(item, dataset)
                finally:
                    await self.store.release(dataset)
        events.embedded(book.page_count)
        return counts

    async def _clean(self, item: _Work, dataset: str) -> None:
        """Remove what an interrupted earlier attempt at this document left behind."""
        if item.partial:
            await self.store.delete_document(dataset, item.doc_id)

    async def _replace_older(self, item: _Work, dataset: str) -> None:
        """The new version is stored: delete the older versions stored from the same path."""
        for old in item.replaces:
            await self.store.delete_document(dataset, old.doc_id)

    async def _finish(
        self, item: _Work, record: DocumentRecord, counts: DocumentCounts, seconds: float
    ) -> Outcome:
        dataset, source = record.dataset, record.source
        timings = {
            "read_seconds": counts.read_seconds,
            "extract_seconds": counts.extract_seconds,
            "store_seconds": counts.store_seconds,
            "total_seconds": seconds,
        }
        if counts.chunks == 0:
            reason = "no text layer: the pages are images (run OCR first)"
            self._ledger.set_state(dataset, item.doc_id, "needs_ocr", error=reason, permanent=1, **timings)
            return Outcome(source, "needs_ocr", reason, pages=record.pages)
        for old in item.replaces:
            self._ledger.delete(dataset, old.doc_id)
        self._ledger.set_state(
            dataset,
            item.doc_id,
            "stored",
            chunks=counts.chunks,
            entities=len(counts.entities),
            relations=counts.relations,
            error=None,
            permanent=0,
            **timings,
        )
        self._ledger.bump_version(dataset)
        status: Status = "replaced" if item.replaces else "added"
        return Outcome(source, status, pages=record.pages, chunks=counts.chunks)

    def _failed(
        self, dataset: str, source: str, content_hash: str, kind: str, exc: DocumentError, pages: int = 0
    ) -> Outcome:
        doc_id = (
            document_id(dataset, content_hash) if content_hash else str(stable_id("failed", dataset, source))
        )
        previous = self._ledger.get(dataset, doc_id)
        if previous is not None and previous.state in IN_FLIGHT[1:]:
            attempts = previous.attempts  # _import_one counted this attempt when it started
        else:
            attempts = (previous.attempts if previous else 0) + 1
        self._ledger.upsert(
            failure(
                dataset,
                doc_id,
                source,
                content_hash,
                kind,
                str(exc),
                PIPELINE_VERSION,
                pages=pages,
                attempts=attempts,
                job_id=previous.job_id if previous else None,
                created_at=previous.created_at if previous else 0.0,
            )
        )
        return Outcome(source, "failed", str(exc))

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()


class _DocumentEvents:
    """A document's pipeline events, into the ledger and the progress display."""

    def __init__(self, ledger: Ledger, progress: Progress, dataset: str, doc_id: str) -> None:
        self._ledger = ledger
        self._progress = progress
        self._dataset = dataset
        self._doc_id = doc_id
        self._page = 0

    def embedding(self) -> None:
        self._ledger.set_state(self._dataset, self._doc_id, "embedding")

    def embedded(self, page: int) -> None:
        if page > self._page:
            self._progress.pages_done(page - self._page)
            self._page = page


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


def _open(
    path: Path, kind: str, password: str | None, sizes: ChunkingSettings
) -> tuple[PdfBook, Callable[[], Iterator[Chunk]]]:
    """Open a source file and return it with a generator factory of its chunks."""
    words, overlap, cap = sizes.target_words, sizes.overlap_words, sizes.max_chars
    if kind == "text":
        book, page = open_text(path)
        return book, lambda: chunk_pages([page], book.outline, words, overlap, cap)
    book = open_book(path, password)
    return book, lambda: chunk_pages(read_pages(book), book.outline, words, overlap, cap)


def collect_files(paths: Sequence[Path], kind: str | None = None) -> list[tuple[Path, str]]:
    """Files to import with their kind; folders are searched recursively for PDFs and text."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found += [(p, "pdf") for p in expand_paths([str(path)], Path("."), "pdf")]
            found += [(p, "text") for p in expand_paths([str(path)], Path("."), "text")]
        else:
            found.append((path, kind or _kind_of(path)))
    return found


def _kind_of(path: Path) -> str:
    return "text" if path.suffix.lower() in (".md", ".markdown", ".txt") else "pdf"
