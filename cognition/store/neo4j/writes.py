"""Writing a group of document batches to Neo4j: a few batched statements per group, never
one statement per node or edge.

Nodes are ``UNWIND $rows AS r MERGE (n:Node {dataset, id}) ON CREATE SET n += r.props``:
idempotent, so a retried group or an entity a second document mentions is one node. Edges
are ``UNWIND … CREATE``, one per (source, target, name, document), as the Ladybug path
writes them: a document is deleted before it is redone, and reads sum a relation's weights
over the documents that state it. Batches of :data:`ROWS` rows keep each statement's
parameter map bounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cognition.store.cognee.schema import page_id, relation_edges, structure_edges
from cognition.store.neo4j.cypher import run, scoped
from cognition.store.port import DocumentBatch

ROWS = 5000  # rows per UNWIND statement

_NODES = scoped(
    "UNWIND $rows AS r MERGE (n:Node {id: r.id}) ON CREATE SET n += r.props, n.type = r.type, n.name = r.name"
)
_EDGES = scoped(
    "UNWIND $rows AS r MATCH (a:Node {id: r.source}) MATCH (b:Node {id: r.target}) "
    "CREATE (a)-[e:EDGE]->(b) SET e.name = r.name, e.document_id = r.document_id, e.weight = r.weight"
)


def node_rows(batch: DocumentBatch) -> list[dict[str, Any]]:
    """Every node of the batch as ``{id, type, name, props}`` (properties flat, no JSON)."""
    doc = batch.document
    rows: list[dict[str, Any]] = [
        _row(
            doc.id,
            "Document",
            doc.title,
            source=doc.source,
            content_hash=doc.content_hash,
            kind=doc.kind,
            pages=doc.pages,
            author=doc.author,
        )
    ]
    rows += [
        _row(s.id, "Section", s.title, level=s.level, document_id=doc.id, parent_id=s.parent_id)
        for s in batch.sections
    ]
    rows += [_row(page_id(doc.id, n), "Page", f"page {n}", number=n, document_id=doc.id) for n in batch.pages]
    rows += [
        _row(
            c.id,
            "Chunk",
            f"chunk {c.index}",
            text=c.text,
            document_id=doc.id,
            document_title=doc.title,
            source=doc.source,
            chunk_index=c.index,
            page_start=c.page_start,
            page_end=c.page_end,
            section=list(c.section_path),
            page_label_start=c.page_label_start,
            page_label_end=c.page_label_end,
        )
        for c in batch.chunks
    ]
    rows += [_row(e.id, "Entity", e.name, key=e.key, kind=e.kind) for e in dict.fromkeys(batch.entities)]
    return rows


def _row(node_id: str, node_type: str, name: str, /, **props: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": node_type,
        "name": name,
        "props": {k: v for k, v in props.items() if v is not None},  # Neo4j stores no nulls
    }


def edge_rows(batch: DocumentBatch) -> list[dict[str, Any]]:
    return [
        {
            "source": src,
            "target": dst,
            "name": name,
            "document_id": props["document_id"],
            "weight": props.get("weight"),
        }
        for src, dst, name, props in structure_edges(batch) + relation_edges(batch)
    ]


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS):
        yield list(rows[start : start + ROWS])


async def write_group(tx: Any, dataset: str, batches: Sequence[DocumentBatch]) -> None:
    """Nodes first (every batch of the group), then the edges between them."""
    nodes = [row for batch in batches for row in node_rows(batch)]
    edges = [row for batch in batches for row in edge_rows(batch)]
    for rows in _chunks(nodes):
        await run(tx, _NODES, dataset, rows=rows)
    for rows in _chunks(edges):
        await run(tx, _EDGES, dataset, rows=rows)


async def write_edges(tx: Any, dataset: str, rows: Sequence[dict[str, Any]]) -> None:
    """Edges given as rows of :func:`edge_rows`' shape (a merge re-points them)."""
    for part in _chunks(rows):
        await run(tx, _EDGES, dataset, rows=part)
