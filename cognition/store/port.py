"""The store port: what ingestion and search need from the graph + vector backend.

A handful of methods; the cognee adapter behind it is the only code that knows cognee.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cognition.graphrank import EntityGraph


@dataclass(frozen=True)
class DocumentNode:
    id: str
    title: str
    source: str
    content_hash: str
    kind: str
    pages: int
    author: str | None = None


@dataclass(frozen=True)
class SectionNode:
    id: str
    title: str
    level: int
    parent_id: str | None


@dataclass(frozen=True)
class ChunkNode:
    id: str
    document_id: str
    index: int
    text: str
    page_start: int
    page_end: int
    section_id: str | None
    section_path: tuple[str, ...]


@dataclass(frozen=True)
class EntityNode:
    id: str
    key: str
    name: str
    kind: str


@dataclass(repr=False)
class DocumentBatch:
    """Part of one document to store: its chunks and what was extracted from them.

    The first batch of a document also carries the document, its sections and pages.
    """

    dataset: str
    document: DocumentNode
    sections: list[SectionNode] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    chunks: list[ChunkNode] = field(default_factory=list)
    entities: list[EntityNode] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)  # chunk id, entity id
    relations: list[tuple[str, str, str, float]] = field(default_factory=list)  # src, dst, name, weight

    def __repr__(self) -> str:  # short: cognee records str(data) of pipeline runs
        first = self.chunks[0].index if self.chunks else -1
        return f"DocumentBatch({self.dataset}/{self.document.id}, chunks from {first}, n={len(self.chunks)})"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back with its provenance."""

    id: str
    dataset: str
    document_id: str
    document_title: str
    source: str
    section_path: tuple[str, ...]
    page_start: int
    page_end: int
    text: str


@dataclass(frozen=True)
class DatasetStats:
    nodes: int
    edges: int
    documents: int
    chunks: int
    entities: int
    chunk_vectors: int
    entity_vectors: int


class Store(Protocol):
    """Graph + vector storage, one isolated space per dataset."""

    async def start(self) -> None:
        """Load engines and models now (otherwise the first call does it)."""
        ...

    async def ensure_dataset(self, name: str) -> None: ...

    async def dataset_exists(self, name: str) -> bool: ...

    async def list_datasets(self) -> list[str]: ...

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        """Store groups of batches as they come, all in one pipeline run; each group is one
        write (small documents share a group, a big book spans many)."""
        ...

    async def delete_document(self, dataset: str, document_id: str) -> None: ...

    async def prepare(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> None:
        """Do the costly part of indexing ``texts`` (embedding) now, before a write that will
        store them: work done here needs no write lock. ``progress`` hears the share done
        (0 to 1) now and then, from any thread."""
        ...

    def forget(self, texts: Sequence[str]) -> None:
        """Drop what :meth:`prepare` kept for ``texts`` when they will not be written."""
        ...

    async def release(self, dataset: str) -> None:
        """Close this process's handles on the dataset's files, so another process can write."""
        ...

    async def search_chunks(
        self, dataset: str, vector: Sequence[float], k: int
    ) -> list[tuple[str, float]]: ...

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]: ...

    async def load_graph(self, dataset: str) -> EntityGraph: ...

    async def stats(self, dataset: str) -> DatasetStats: ...

    async def close(self) -> None: ...
