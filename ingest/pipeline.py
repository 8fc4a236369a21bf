"""The ingestion pipeline of one document: read → chunk → extract → embed → store, overlapped.

Pages come from the reader (a child process for PDFs: pypdf is CPU-bound) through a thread
that chunks them into a bounded queue, so the next batches are being read while one is
extracted and embedded. Each embedded batch (its chunks with their vectors) goes to the
caller's ``store`` (which takes the dataset's write gate for that one write) while the next
batch is embedded: a long book is stored as it goes, so storage overlaps embedding instead
of following it, the last write is one batch, and memory holds a few batches, not the whole
book.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from cognition.datasets import chunk_id, entity_id, stable_id
from cognition.embedding.port import Embedder
from cognition.extract.port import ChunkGraph, GraphExtractor
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode, SectionNode
from ingest.chunking import Chunk

_DONE = object()
PIPELINE_VERSION = "1"
READ_AHEAD_BATCHES = 2  # chunk batches read and extracted ahead of the one being embedded


@dataclass
class DocumentCounts:
    """What one document became, and where the time went."""

    pages_with_text: int = 0
    chunks: int = 0
    entities: set[str] = field(default_factory=set)
    relations: int = 0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    store_seconds: float = 0.0  # embedding and writing


class PipelineEvents(Protocol):
    """What a document's pipeline tells its caller as it goes (on the event loop)."""

    def embedding(self) -> None:
        """The first batch has been read and goes to the embedding model."""

    def embedded(self, page: int) -> None:
        """The document is embedded up to about this page (called after each forward pass)."""


@dataclass
class _DocState:
    document: DocumentNode
    sections: set[str] = field(default_factory=set)
    pages: set[int] = field(default_factory=set)
    first: bool = True
    page_embedded: int = 0


class DocumentPipeline:
    """Runs one document's chunk batches through extraction, embedding and storage."""

    def __init__(self, embedder: Embedder, extractor: GraphExtractor, dataset: str, batch_size: int) -> None:
        self._embedder = embedder
        self._extractor = extractor
        self._dataset = dataset
        self._batch_size = batch_size

    async def run(
        self,
        document: DocumentNode,
        chunks: Callable[[], Iterator[Chunk]],
        store: Callable[[DocumentBatch], Awaitable[None]],
        events: PipelineEvents | None = None,
    ) -> DocumentCounts:
        """Read, chunk, extract and embed the document batch by batch (no lock needed), and
        hand each embedded batch, in order, to ``store`` while the next one is embedded.

        If preparing fails (a page that cannot be read), a write in progress is finished,
        no further batch is stored, and the error is raised; if a write fails, preparing
        stops and that error is raised.
        """
        counts = DocumentCounts()
        ready: asyncio.Queue[DocumentBatch | None] = asyncio.Queue(maxsize=1)
        producer = asyncio.ensure_future(self._prepare(document, chunks, counts, ready, events))
        consumer = asyncio.ensure_future(self._store_each(ready, store, counts))
        try:
            await _both(producer, consumer)
        finally:
            for task in (producer, consumer):
                task.cancel()
            await asyncio.gather(producer, consumer, return_exceptions=True)
        return counts

    async def _prepare(
        self,
        document: DocumentNode,
        chunks: Callable[[], Iterator[Chunk]],
        counts: DocumentCounts,
        ready: asyncio.Queue[DocumentBatch | None],
        events: PipelineEvents | None,
    ) -> None:
        async with self._reading(chunks, counts) as queue:
            state = _DocState(document=document)
            async for batch in self._batches(queue, state, counts):
                await self._embed(batch, state, counts, events)
                await ready.put(batch)
        await ready.put(None)

    async def _embed(
        self, batch: DocumentBatch, state: _DocState, counts: DocumentCounts, events: PipelineEvents | None
    ) -> None:
        """Embed a batch's chunk texts (outside any lock), reporting pages as they go."""
        started = time.perf_counter()
        first, last = state.page_embedded, max(state.page_embedded, batch.chunks[-1].page_end)
        if events is not None and first == 0:
            events.embedding()
        progress = None if events is None else _page_reporter(events, first, last)
        batch.vectors = await self._embedder.embed([c.text for c in batch.chunks], "document", progress)
        state.page_embedded = last
        counts.store_seconds += time.perf_counter() - started

    async def _store_each(
        self,
        ready: asyncio.Queue[DocumentBatch | None],
        store: Callable[[DocumentBatch], Awaitable[None]],
        counts: DocumentCounts,
    ) -> None:
        while (batch := await ready.get()) is not None:
            started = time.perf_counter()
            write = asyncio.ensure_future(store(batch))
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                # A write in progress is finished, not abandoned: whatever comes next (a
                # cleanup, a retry) needs the dataset's files to itself.
                await asyncio.gather(write, return_exceptions=True)
                raise
            counts.store_seconds += time.perf_counter() - started

    @asynccontextmanager
    async def _reading(
        self, chunks: Callable[[], Iterator[Chunk]], counts: DocumentCounts
    ) -> AsyncIterator[asyncio.Queue[object]]:
        """The reader thread, feeding chunk batches into the queue this yields."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=READ_AHEAD_BATCHES)
        stop = threading.Event()
        reader = asyncio.ensure_future(
            asyncio.to_thread(self._produce, chunks, queue, asyncio.get_running_loop(), counts, stop)
        )
        try:
            yield queue
        finally:
            stop.set()
            await _drain(queue, reader)
        await reader

    async def _batches(
        self,
        queue: asyncio.Queue[object],
        state: _DocState,
        counts: DocumentCounts,
    ) -> AsyncIterator[DocumentBatch]:
        """Chunk batches from the reader thread, extracted, ready to store."""
        while (item := await queue.get()) is not _DONE:
            batch: list[Chunk] = item  # type: ignore[assignment]
            started = time.perf_counter()
            graphs = await self._extractor.extract([c.text for c in batch])
            counts.extract_seconds += time.perf_counter() - started
            yield self._batch(batch, graphs, state, counts)

    def _produce(
        self,
        chunks: Callable[[], Iterator[Chunk]],
        queue: asyncio.Queue[object],
        loop: asyncio.AbstractEventLoop,
        counts: DocumentCounts,
        stop: threading.Event,
    ) -> None:
        started = time.perf_counter()
        batch: list[Chunk] = []
        try:
            for chunk in chunks():
                batch.append(chunk)
                if len(batch) >= self._batch_size:
                    counts.read_seconds += time.perf_counter() - started
                    if not _put(queue, loop, batch, stop):
                        return
                    started, batch = time.perf_counter(), []
            counts.read_seconds += time.perf_counter() - started
            if batch:
                _put(queue, loop, batch, stop)
        finally:
            _put(queue, loop, _DONE, stop)

    def _batch(
        self, chunks: list[Chunk], graphs: list[ChunkGraph], state: _DocState, counts: DocumentCounts
    ) -> DocumentBatch:
        doc = state.document
        out = DocumentBatch(dataset=self._dataset, document=doc)
        for chunk, graph in zip(chunks, graphs, strict=True):
            section_id = self._sections(chunk.section, state, out)
            node = ChunkNode(
                id=chunk_id(doc.id, chunk.index),
                document_id=doc.id,
                index=chunk.index,
                text=chunk.text,
                page_start=chunk.page_start,
                page_end=chunk.page_end,
                section_id=section_id,
                section_path=chunk.section,
                page_label_start=chunk.page_label_start,
                page_label_end=chunk.page_label_end,
            )
            out.chunks.append(node)
            self._pages(chunk, state, out)
            self._graph(node.id, graph, out, counts)
        counts.chunks += len(chunks)
        state.first = False
        return out

    def _sections(self, path: tuple[str, ...], state: _DocState, out: DocumentBatch) -> str | None:
        parent: str | None = None
        for depth in range(1, len(path) + 1):
            section_id = str(stable_id(state.document.id, "section", *path[:depth]))
            if section_id not in state.sections:
                state.sections.add(section_id)
                out.sections.append(SectionNode(section_id, path[depth - 1], depth - 1, parent))
            parent = section_id
        return parent

    @staticmethod
    def _pages(chunk: Chunk, state: _DocState, out: DocumentBatch) -> None:
        for number in range(chunk.page_start, chunk.page_end + 1):
            if number not in state.pages:
                state.pages.add(number)
                out.pages.append(number)

    def _graph(self, chunk_id: str, graph: ChunkGraph, out: DocumentBatch, counts: DocumentCounts) -> None:
        ids: dict[str, str] = {}
        for mention in graph.entities:
            eid = entity_id(self._dataset, mention.key)
            ids[mention.key] = eid
            out.entities.append(EntityNode(eid, mention.key, mention.name, mention.kind))
            out.mentions.append((chunk_id, eid))
            counts.entities.add(eid)
        for rel in graph.relations:
            out.relations.append((ids[rel.source], ids[rel.target], rel.name, rel.weight))
        counts.relations += len(graph.relations)


def _put(
    queue: asyncio.Queue[object], loop: asyncio.AbstractEventLoop, item: object, stop: threading.Event
) -> bool:
    """Hand an item from the reader thread to the event loop, waiting while the queue is full.

    Returns False once the consumer has stopped (it drains the queue, so a pending put ends).
    """
    if stop.is_set() and item is not _DONE:
        return False
    asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
    return not stop.is_set()


def _page_reporter(events: PipelineEvents, first: int, last: int) -> Callable[[float], None]:
    """A progress callback for the embedding thread: the share of a batch embedded, as the
    page reached between the batch's first and last page, reported on the event loop."""
    loop = asyncio.get_running_loop()

    def report(share: float) -> None:
        loop.call_soon_threadsafe(events.embedded, first + round(share * (last - first)))

    return report


async def _both(producer: asyncio.Future[None], consumer: asyncio.Future[None]) -> None:
    """Wait for both tasks; the first one to fail raises its own error at once."""
    pending: set[asyncio.Future[None]] = {producer, consumer}
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.cancelled():
                raise asyncio.CancelledError
            error = task.exception()
            if error is not None:
                raise error


async def _drain(queue: asyncio.Queue[object], reader: asyncio.Future[None]) -> None:
    while not reader.done():
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            await asyncio.sleep(0.01)
