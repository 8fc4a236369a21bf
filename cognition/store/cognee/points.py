"""cognee ``DataPoint`` models of the graph, built from the store port's records.

Imported only after :func:`cognition.store.cognee.env.prepare_cognee` (it imports cognee).
What gets a vector is decided here, by ``index_fields``: chunk texts, and nothing else.
Documents, sections, pages and edges would cost more to embed than all the chunks and serve
no query; entity names are linked lexically (see ``Entity``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cognition.store.cognee.env import require_prepared

require_prepared()

from cognee.infrastructure.engine import DataPoint  # noqa: E402

from cognition.store.port import ChunkNode, DocumentNode, EntityNode, SectionNode  # noqa: E402


class Document(DataPoint):  # type: ignore[misc]
    name: str
    source: str
    content_hash: str
    kind: str
    pages: int
    author: str | None = None
    metadata: dict[str, Any] = {"index_fields": []}


class Section(DataPoint):  # type: ignore[misc]
    name: str
    level: int
    document_id: str
    metadata: dict[str, Any] = {"index_fields": []}


class Page(DataPoint):  # type: ignore[misc]
    name: str
    number: int
    document_id: str
    metadata: dict[str, Any] = {"index_fields": []}


class Chunk(DataPoint):  # type: ignore[misc]
    text: str
    document_id: str
    document_title: str
    source: str
    chunk_index: int
    page_start: int
    page_end: int
    section: list[str]
    page_label_start: str | None = None  # printed page numbers, when they are not the positions
    page_label_end: str | None = None
    metadata: dict[str, Any] = {"index_fields": ["text"]}


class Entity(DataPoint):  # type: ignore[misc]
    name: str
    key: str
    kind: str
    # No vector: query entities link to graph entities by key and word overlap, which on the
    # multi-hop sets recalled as well as nearest-name embeddings (R@5 80.5 vs 81.0) and saves
    # embedding ~7 entity names per chunk, as many texts as the chunks themselves.
    metadata: dict[str, Any] = {"index_fields": []}


def document_point(doc: DocumentNode) -> Document:
    return Document(
        id=UUID(doc.id),
        name=doc.title,
        source=doc.source,
        content_hash=doc.content_hash,
        kind=doc.kind,
        pages=doc.pages,
        author=doc.author,
    )


def section_point(section: SectionNode, document_id: str) -> Section:
    return Section(id=UUID(section.id), name=section.title, level=section.level, document_id=document_id)


def chunk_point(chunk: ChunkNode, doc: DocumentNode) -> Chunk:
    return Chunk(
        id=UUID(chunk.id),
        text=chunk.text,
        document_id=doc.id,
        document_title=doc.title,
        source=doc.source,
        chunk_index=chunk.index,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        section=list(chunk.section_path),
        page_label_start=chunk.page_label_start,
        page_label_end=chunk.page_label_end,
    )


def entity_point(entity: EntityNode) -> Entity:
    return Entity(id=UUID(entity.id), name=entity.name, key=entity.key, kind=entity.kind)
