"""Bodies of the graph routes: chunks with provenance, entities, neighbourhoods, paths."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from cognition.graphquery import Edge, Hop, Neighbourhood
from cognition.store.port import EntityInfo, StoredChunk


class Cited(Protocol):
    """What a search hit and a stored chunk both carry to be cited (read-only)."""

    @property
    def dataset(self) -> str: ...

    @property
    def document_id(self) -> str: ...

    @property
    def document_title(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def section_path(self) -> tuple[str, ...]: ...

    @property
    def page_start(self) -> int: ...

    @property
    def page_end(self) -> int: ...

    @property
    def page_label_start(self) -> str | None: ...

    @property
    def page_label_end(self) -> str | None: ...

    @property
    def text(self) -> str: ...


class ChunkOut(BaseModel):
    dataset: str
    chunk_id: str
    document_id: str
    document_title: str
    source: str = Field(description="the file's path or the page's URL")
    section: list[str]
    page_start: int | None = Field(description="PDF page position; null for a web page")
    page_end: int | None
    page_label_start: str | None = Field(description="the printed page number, where it differs")
    page_label_end: str | None
    text: str

    @classmethod
    def of(cls, c: StoredChunk) -> ChunkOut:
        return cls(**cited(c, c.id))


def cited(c: Cited, chunk_id: str) -> dict[str, Any]:
    """The citation fields of a chunk or a hit (a web page has no page numbers)."""
    web = c.source.startswith(("http://", "https://"))
    return {
        "dataset": c.dataset,
        "chunk_id": chunk_id,
        "document_id": c.document_id,
        "document_title": c.document_title,
        "source": c.source,
        "section": list(c.section_path),
        "page_start": None if web else c.page_start,
        "page_end": None if web else c.page_end,
        "page_label_start": c.page_label_start,
        "page_label_end": c.page_label_end,
        "text": c.text,
    }


class ChunkList(BaseModel):
    chunks: list[ChunkOut]


class EntityOut(BaseModel):
    entity_id: str
    name: str
    key: str = Field(description="the name normalized as the extractor normalizes names")
    kind: str
    chunks: int = Field(description="chunks that mention it")

    @classmethod
    def of(cls, e: EntityInfo) -> EntityOut:
        return cls(entity_id=e.id, name=e.name, key=e.key, kind=e.kind, chunks=e.chunks)


class EntityList(BaseModel):
    entities: list[EntityOut]


class EdgeOut(BaseModel):
    source_id: str
    relation: str
    weight: float
    direction: Literal["out", "in"]
    depth: int
    target: EntityOut

    @classmethod
    def of(cls, e: Edge) -> EdgeOut:
        return cls(
            source_id=e.source_id,
            relation=e.relation,
            weight=e.weight,
            direction=e.direction,
            depth=e.depth,
            target=EntityOut.of(e.target),
        )


class NeighbourhoodOut(BaseModel):
    entity: EntityOut
    edges: list[EdgeOut]
    truncated: bool

    @classmethod
    def of(cls, n: Neighbourhood) -> NeighbourhoodOut:
        return cls(
            entity=EntityOut.of(n.entity), edges=[EdgeOut.of(e) for e in n.edges], truncated=n.truncated
        )


class HopOut(BaseModel):
    source: EntityOut
    relation: str
    direction: Literal["out", "in"]
    target: EntityOut

    @classmethod
    def of(cls, h: Hop) -> HopOut:
        return cls(
            source=EntityOut.of(h.source),
            relation=h.relation,
            direction=h.direction,
            target=EntityOut.of(h.target),
        )


class PathList(BaseModel):
    paths: list[list[HopOut]]
