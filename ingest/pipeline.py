"""The ingestion pipeline of one document: read → chunk → extract → embed, then store.

Pages come from the reader (a child process for PDFs: pypdf is CPU-bound) through a thread
that chunks them into a small bounded queue, so the next batch is being read while the
previous one is extracted and embedded. Preparing needs no lock; storing the prepared
document is the only step that takes the dataset's write gate.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from cognition.datasets import stable_id
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode, SectionNode, Store
from ingest.chunking import Chunk
from ingest.extract.port import ChunkGraph, GraphExtractor

_DONE = object()
PIPELINE_VERSION = "1"


@dataclass
class DocumentCounts:
    """What one document became, and where the time went."""

    pages_with_text: int = 0
    chunks: int = 0
    entities: set[str] = field(default_factory=set)
    relations: int = 0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    store_seconds: float = 0.0


@dataclass
class _DocState:
    document: DocumentNode
    sections: set[str] = field(default_factory=set)
    pages: set[int] = field(default_factory=set)
    first: bool = True


class DocumentPipeline:
    """Runs one document's chunk batches through extraction and storage."""

    def __init__(self, store: Store, extractor: GraphExtractor, dataset: str, batch_size: int) -> None:
        self._store = store
        self._extractor = extractor
        self._dataset = dataset
        self._batch_size = batch_size

    async def prepare(
        self,
        document: DocumentNode,
        chunks: Callable[[], Iterator[Chunk]],
        on_batch: Callable[[DocumentCounts, int], None] | None = None,
    ) -> tuple[list[DocumentBatch], DocumentCounts]:
        """Read, chunk, extract and embed the whole document without writing to the store.

        Everything here runs outside the dataset's write gate, beside other documents being
        prepared or stored; only :meth:`write` needs the gate. Each batch is embedded
        (``Store.prepare``) as soon as it is extracted, while the reader reads the next one,
        so ``on_batch`` (counts, last page) follows the costly part of the work.
        """
        counts = DocumentCounts()
        prepared: list[DocumentBatch] = []
        try:
            async with self._reading(chunks, counts) as queue:
                state = _DocState(document=document)
                async for batch in self._batches(queue, state, counts):
                    started = time.perf_counter()
                    await self._store.prepare([c.text for c in batch.chunks])
                    counts.store_seconds += time.perf_counter() - started
                    prepared.append(batch)
                    if on_batch is not None:
                        on_batch(counts, batch.chunks[-1].page_end if batch.chunks else 0)
        except BaseException:
            self.discard(prepared)
            raise
        return prepared, counts

    async def write(
        self,
        prepared: list[DocumentBatch],
        counts: DocumentCounts,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        """Store what :meth:`prepare` made (call inside the dataset's write gate);
        ``on_stored`` hears how many chunks are stored each time a batch, not the last, is."""
        started = time.perf_counter()
        await self._store.write(self._dataset, _listed(prepared, on_stored))
        counts.store_seconds += time.perf_counter() - started

    def discard(self, prepared: list[DocumentBatch]) -> None:
        """Drop the vectors computed for a document that will not be written."""
        self._store.forget([c.text for batch in prepared for c in batch.chunks])

    @asynccontextmanager
    async def _reading(
        self, chunks: Callable[[], Iterator[Chunk]], counts: DocumentCounts
    ) -> AsyncIterator[asyncio.Queue[object]]:
        """The reader thread, feeding chunk batches into the queue this yields."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=2)
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
                id=str(stable_id(doc.id, "chunk", str(chunk.index))),
                document_id=doc.id,
                index=chunk.index,
                text=chunk.text,
                page_start=chunk.page_start,
                page_end=chunk.page_end,
                section_id=section_id,
                section_path=chunk.section,
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
            entity_id = entity_node_id(self._dataset, mention.key)
            ids[mention.key] = entity_id
            out.entities.append(EntityNode(entity_id, mention.key, mention.name, mention.kind))
            out.mentions.append((chunk_id, entity_id))
            counts.entities.add(entity_id)
        for rel in graph.relations:
            out.relations.append((ids[rel.source], ids[rel.target], rel.name, rel.weight))
        counts.relations += len(graph.relations)


def entity_node_id(dataset: str, key: str) -> str:
    """Entities are shared by every document of a dataset: the id depends on the key only."""
    return str(stable_id(dataset, "entity", key))


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


async def _listed(
    batches: list[DocumentBatch], on_stored: Callable[[int], None] | None
) -> AsyncIterator[list[DocumentBatch]]:
    """One batch per write; the store asks for the next one once it has stored the previous."""
    stored = 0
    for batch in batches:
        if stored and on_stored is not None:
            on_stored(stored)
        yield [batch]
        stored += len(batch.chunks)


async def _drain(queue: asyncio.Queue[object], reader: asyncio.Future[None]) -> None:
    while not reader.done():
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            await asyncio.sleep(0.01)
