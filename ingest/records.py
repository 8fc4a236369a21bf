"""Importing many small text records (passages, notes) in one pipeline run.

A book is big enough to pay for a pipeline run of its own; a 100-word passage is not. Here
every record is still its own document (identity = sha256 of title and text, one ledger row,
its own provenance), but records share writes: their batches are grouped until a group holds
``chunks_per_batch`` chunks.

A record's ``id`` is its source. With ``replace_same_source`` (crawled pages: the id is the
URL) a record whose content changed replaces the document stored from the same source: the
new version is stored first, then the older one is deleted from the store and the ledger.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cognition.datasets import chunk_id, document_id, entity_id, validate_dataset_name
from cognition.ledger import DocumentRecord, this_process
from cognition.runtime import Runtime
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode
from ingest.chunking import chunk_pages
from ingest.pdf import PageText
from ingest.pipeline import PIPELINE_VERSION


@dataclass(frozen=True)
class TextRecord:
    """One record: an id of the caller's (kept as the document's source), a title, a text.

    ``digest`` is the caller's content hash if it has one (a crawled page: the sha256 of its
    markdown); otherwise the hash is taken over title and text.
    """

    id: str
    title: str
    text: str
    kind: str = "record"
    digest: str | None = None

    @property
    def content_hash(self) -> str:
        return self.digest or hashlib.sha256(f"{self.title}\n\n{self.text}".encode()).hexdigest()


RecordStatus = Literal["added", "skipped", "replaced"]


@dataclass
class RecordSummary:
    added: int = 0
    skipped: int = 0
    replaced: int = 0
    chunks: int = 0
    seconds: float = 0.0
    status: dict[str, RecordStatus] = field(default_factory=dict)  # record id -> what happened
    chunks_of: dict[str, int] = field(default_factory=dict)  # record id -> chunks stored


class RecordImporter:
    """Imports text records into a dataset; records already stored are skipped."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._ledger = runtime.ledger
        self._extractor = runtime.extractor
        self._chunks: dict[str, int] = {}  # document id -> chunks, until the ledger row is final

    async def import_records(
        self, dataset: str, records: Sequence[TextRecord], replace_same_source: bool = False
    ) -> RecordSummary:
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        started = time.perf_counter()
        summary = RecordSummary()
        todo = self._todo(dataset, records, summary)
        if todo:
            self._runtime.claim_embedding(dataset)
            store = self._runtime.store
            await store.ensure_dataset(dataset)
            async with self._runtime.gate.hold(dataset):
                await store.write(dataset, self._groups(dataset, todo, summary))
                for record in todo:
                    doc_id = document_id(dataset, record.content_hash)
                    chunks = self._chunks.pop(doc_id, 0)
                    self._ledger.set_state(dataset, doc_id, "stored", chunks=chunks)
                    replaced = await self._replace(dataset, record, doc_id) if replace_same_source else False
                    summary.status[record.id] = "replaced" if replaced else "added"
                    summary.chunks_of[record.id] = chunks
            self._ledger.bump_version(dataset)
        summary.replaced = sum(1 for s in summary.status.values() if s == "replaced")
        summary.added = len(todo) - summary.replaced
        summary.seconds = time.perf_counter() - started
        return summary

    def _todo(self, dataset: str, records: Sequence[TextRecord], summary: RecordSummary) -> list[TextRecord]:
        """Records not stored yet, each content once (a repeat is skipped like a stored one)."""
        todo: dict[str, TextRecord] = {}
        for record in records:
            if self._stored(dataset, record) or record.content_hash in todo:
                summary.status[record.id] = "skipped"
                summary.skipped += 1
            else:
                todo[record.content_hash] = record
        return list(todo.values())

    def _stored(self, dataset: str, record: TextRecord) -> bool:
        found = self._ledger.get(dataset, document_id(dataset, record.content_hash))
        return found is not None and found.state == "stored"

    async def _replace(self, dataset: str, record: TextRecord, doc_id: str) -> bool:
        """Delete the other documents recorded from ``record``'s source; True if one was stored."""
        replaced = False
        for old in self._ledger.by_source(dataset, record.id):
            if old.doc_id == doc_id:
                continue
            if old.state != "failed":
                await self._runtime.store.delete_document(dataset, old.doc_id)
                replaced = replaced or old.state == "stored"
            self._ledger.delete(dataset, old.doc_id)
        return replaced

    async def _groups(
        self, dataset: str, records: Sequence[TextRecord], summary: RecordSummary
    ) -> AsyncIterator[list[DocumentBatch]]:
        group: list[DocumentBatch] = []
        size = 0
        for record in records:
            batch = await self._batch(dataset, record)
            group.append(batch)
            size += len(batch.chunks)
            summary.chunks += len(batch.chunks)
            if size >= self._settings.imports.chunks_per_batch:
                yield await self._embedded(group)
                group, size = [], 0
        if group:
            yield await self._embedded(group)

    async def _embedded(self, group: list[DocumentBatch]) -> list[DocumentBatch]:
        """The group's chunks with their vectors, embedded in one call."""
        texts = [c.text for batch in group for c in batch.chunks]
        vectors = await self._runtime.embedder.embed(texts, "document")
        start = 0
        for batch in group:
            batch.vectors = vectors[start : start + len(batch.chunks)]
            start += len(batch.chunks)
        return group

    async def _batch(self, dataset: str, record: TextRecord) -> DocumentBatch:
        doc_id = document_id(dataset, record.content_hash)
        self._ledger.upsert(
            DocumentRecord(
                dataset=dataset,
                doc_id=doc_id,
                source=record.id,
                content_hash=record.content_hash,
                kind=record.kind,
                state="embedding",
                title=record.title,
                pages=1,
                pipeline_version=PIPELINE_VERSION,
                owner=this_process(),
            )
        )
        sizes = self._settings.chunking
        text = f"{record.title}. {record.text}" if record.title else record.text
        chunks = list(
            chunk_pages([PageText(1, text)], [], sizes.target_words, sizes.overlap_words, sizes.max_chars)
        )
        self._chunks[doc_id] = len(chunks)
        graphs = await self._extractor.extract([c.text for c in chunks])
        doc = DocumentNode(doc_id, record.title, record.id, record.content_hash, record.kind, 1)
        batch = DocumentBatch(dataset=dataset, document=doc, pages=[1])
        for chunk, graph in zip(chunks, graphs, strict=True):
            cid = chunk_id(doc_id, chunk.index)
            batch.chunks.append(ChunkNode(cid, doc_id, chunk.index, chunk.text, 1, 1, None, ()))
            ids = {m.key: entity_id(dataset, m.key) for m in graph.entities}
            batch.entities += [EntityNode(ids[m.key], m.key, m.name, m.kind) for m in graph.entities]
            batch.mentions += [(cid, ids[m.key]) for m in graph.entities]
            batch.relations += [(ids[r.source], ids[r.target], r.name, r.weight) for r in graph.relations]
        return batch
