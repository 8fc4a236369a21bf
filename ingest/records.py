"""Importing many small text records (passages, notes) in one pipeline run.

A book is big enough to pay for a pipeline run of its own; a 100-word passage is not. Here
every record is still its own document (identity = sha256 of title and text, one ledger row,
its own provenance), but records share writes: their batches are grouped until a group holds
``chunks_per_batch`` chunks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.settings import Settings
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode, Store
from ingest.chunking import chunk_pages
from ingest.extract.port import GraphExtractor
from ingest.ledger import DocumentRecord, Ledger
from ingest.pdf import PageText
from ingest.pipeline import PIPELINE_VERSION, entity_node_id


@dataclass(frozen=True)
class TextRecord:
    """One record: an id of the caller's (kept as the document's source), a title, a text."""

    id: str
    title: str
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n\n{self.text}".encode()).hexdigest()


@dataclass
class RecordSummary:
    added: int = 0
    skipped: int = 0
    chunks: int = 0
    seconds: float = 0.0


class RecordImporter:
    """Imports text records into a dataset; records already stored are skipped."""

    def __init__(self, settings: Settings, ledger: Ledger, store: Store, extractor: GraphExtractor) -> None:
        self._settings = settings
        self._ledger = ledger
        self._store = store
        self._extractor = extractor
        self._chunks: dict[str, int] = {}  # document id -> chunks, until the ledger row is final

    async def import_records(self, dataset: str, records: Sequence[TextRecord]) -> RecordSummary:
        validate_dataset_name(dataset)
        self._ledger.register_dataset(dataset)
        started = time.perf_counter()
        summary = RecordSummary()
        todo = [r for r in records if not self._stored(dataset, r)]
        summary.skipped = len(records) - len(todo)
        if todo:
            await self._store.ensure_dataset(dataset)
            await self._store.write(dataset, self._groups(dataset, todo, summary))
            for record in todo:
                doc_id = document_id(dataset, record.content_hash)
                self._ledger.set_state(dataset, doc_id, "stored", chunks=self._chunks.pop(doc_id, 0))
            self._ledger.bump_version(dataset)
        summary.added = len(todo)
        summary.seconds = time.perf_counter() - started
        return summary

    def _stored(self, dataset: str, record: TextRecord) -> bool:
        found = self._ledger.get(dataset, document_id(dataset, record.content_hash))
        return found is not None and found.state == "stored"

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
                yield group
                group, size = [], 0
        if group:
            yield group

    async def _batch(self, dataset: str, record: TextRecord) -> DocumentBatch:
        doc_id = document_id(dataset, record.content_hash)
        self._ledger.upsert(
            DocumentRecord(
                dataset=dataset,
                doc_id=doc_id,
                source=record.id,
                content_hash=record.content_hash,
                kind="record",
                state="embedding",
                title=record.title,
                pages=1,
                pipeline_version=PIPELINE_VERSION,
            )
        )
        sizes = self._settings.chunking
        text = f"{record.title}. {record.text}" if record.title else record.text
        chunks = list(chunk_pages([PageText(1, text)], [], sizes.target_words, sizes.overlap_words))
        self._chunks[doc_id] = len(chunks)
        graphs = await self._extractor.extract([c.text for c in chunks])
        doc = DocumentNode(doc_id, record.title, record.id, record.content_hash, "record", 1)
        batch = DocumentBatch(dataset=dataset, document=doc, pages=[1])
        for chunk, graph in zip(chunks, graphs, strict=True):
            chunk_id = str(stable_id(doc_id, "chunk", str(chunk.index)))
            batch.chunks.append(ChunkNode(chunk_id, doc_id, chunk.index, chunk.text, 1, 1, None, ()))
            ids = {m.key: entity_node_id(dataset, m.key) for m in graph.entities}
            batch.entities += [EntityNode(ids[m.key], m.key, m.name, m.kind) for m in graph.entities]
            batch.mentions += [(chunk_id, ids[m.key]) for m in graph.entities]
            batch.relations += [(ids[r.source], ids[r.target], r.name, r.weight) for r in graph.relations]
        return batch
