"""The graph's shape, shared by writes and reads, with no cognee import.

Node types: Document, Section, Page, Chunk, Entity. Edges: has_section, has_subsection,
has_chunk, has_page, on_page, mentions (chunk → entity) and entity → entity relations
("co_occurs_with" or a verb such as "uses"). Every edge records the document that wrote it.
"""

from __future__ import annotations

import json
from typing import Any

from cognition.datasets import stable_id
from cognition.store.port import DocumentBatch

CHUNK_COLLECTION = "Chunk_text"
ENTITY_COLLECTION = "Entity_name"


def page_id(document_id: str, number: int) -> str:
    return str(stable_id(document_id, "page", str(number)))


def structure_edges(batch: DocumentBatch) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Book → section → chunk → page edges, and chunk → entity mentions."""
    doc = batch.document
    props = {"document_id": doc.id}
    edges: list[tuple[str, str, str, dict[str, Any]]] = []
    for section in batch.sections:
        parent = section.parent_id or doc.id
        name = "has_subsection" if section.parent_id else "has_section"
        edges.append((parent, section.id, name, props))
    for number in batch.pages:
        edges.append((doc.id, page_id(doc.id, number), "has_page", props))
    for chunk in batch.chunks:
        edges.append((chunk.section_id or doc.id, chunk.id, "has_chunk", props))
        for number in range(chunk.page_start, chunk.page_end + 1):
            edges.append((chunk.id, page_id(doc.id, number), "on_page", props))
    edges.extend((c, e, "mentions", props) for c, e in dict.fromkeys(batch.mentions))
    return edges


def relation_edges(batch: DocumentBatch) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Entity → entity relations of this batch, summed per (source, target, relation)."""
    weights: dict[tuple[str, str, str], float] = {}
    for src, dst, name, weight in batch.relations:
        weights[(src, dst, name)] = weights.get((src, dst, name), 0.0) + weight
    return [
        (src, dst, name, {"document_id": batch.document.id, "weight": weight})
        for (src, dst, name), weight in weights.items()
    ]


def properties(raw: Any) -> dict[str, Any]:
    """A node's or edge's JSON property blob as a dict."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
