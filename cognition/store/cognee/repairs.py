"""Repairs of one dataset's stores, inside its database context (engines given).

Each repair re-checks its defect before it changes anything: an entity is deleted only if no
chunk mentions it *now*, a vector row only if no chunk has its id *now*, and a vector is
written only for a chunk node that exists. A plan made a while ago therefore never deletes
what an import has since made valid. The caller holds the dataset's write gate.

Merging two entities re-points every edge of the dropped one to the kept one. Edges are
per (source, target, relation, document): an edge the kept entity already has for the same
relation and document absorbs the moved one, with the weights summed (reads sum a relation's
weights over documents, so the pair's total weight is what the two entities had apart);
mentions carry no weight and are simply not doubled. Edges between the two would become a
relation of the kept entity with itself and are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cognition.store.cognee.bulk import write_edges
from cognition.store.cognee.schema import CHUNK_COLLECTION, ENTITY_COLLECTION, properties
from cognition.store.cognee.vectors import write_chunk_vectors
from cognition.store.port import ChunkNode, DocumentNode, Merge

_ORPHANS_AMONG = """
UNWIND $ids AS i MATCH (e:Node {id: i}) WHERE e.type = 'Entity' AND NOT EXISTS
{ MATCH (:Node)-[r:EDGE]->(e) WHERE r.relationship_name = 'mentions' } RETURN e.id
"""
_ENTITIES_AMONG = "UNWIND $ids AS i MATCH (e:Node {id: i}) WHERE e.type = 'Entity' RETURN e.id"
_CHUNKS_AMONG = "UNWIND $ids AS i MATCH (n:Node {id: i}) WHERE n.type = 'Chunk' RETURN n.id, n.properties"
_OUT = "MATCH (a:Node {id: $id})-[r:EDGE]->(b:Node) RETURN a.id, b.id, r.relationship_name, r.properties"
_IN = "MATCH (a:Node)-[r:EDGE]->(b:Node {id: $id}) RETURN a.id, b.id, r.relationship_name, r.properties"
_SET_WEIGHT = """
MATCH (a:Node {id: $a})-[r:EDGE]->(b:Node {id: $b})
WHERE r.relationship_name = $name AND r.properties = $old
SET r.properties = $new
"""

EdgeRow = tuple[str, str, str, str]  # source, target, relation, properties (JSON as stored)


async def _ids(graph: Any, query: str, ids: Sequence[str]) -> list[str]:
    if not ids:
        return []
    return sorted({str(r[0]) for r in await graph.query(query, {"ids": list(dict.fromkeys(ids))})})


async def delete_orphans(graph: Any, vectors: Any, ids: Sequence[str]) -> list[str]:
    """Delete those of ``ids`` that are entities no chunk mentions (with their edges and any
    vector row); the others are left. Returns the ids deleted."""
    orphans = await _ids(graph, _ORPHANS_AMONG, ids)
    if orphans:
        await vectors.delete_data_points(ENTITY_COLLECTION, orphans)  # datasets that embedded names
        await graph.delete_nodes(orphans)
    return orphans


async def delete_stray_vectors(graph: Any, vectors: Any, ids: Sequence[str]) -> list[str]:
    """Delete the chunk vector rows among ``ids`` whose id names no chunk node."""
    chunks = {cid for cid, _ in await _chunk_rows(graph, ids)}
    stray = sorted(await _vector_ids(vectors, sorted(set(ids) - chunks)))
    if stray:
        await vectors.delete_data_points(CHUNK_COLLECTION, stray)
    return stray


async def _vector_ids(vectors: Any, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` have a row in the chunk table."""
    if not ids or not await vectors.has_collection(CHUNK_COLLECTION):
        return set()
    table = await vectors.get_collection(CHUNK_COLLECTION)
    quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    return {str(r["id"]) for r in await table.query().where(f"id IN ({quoted})").select(["id"]).to_list()}


async def _chunk_rows(graph: Any, ids: Sequence[str]) -> list[tuple[str, Any]]:
    if not ids:
        return []
    rows = await graph.query(_CHUNKS_AMONG, {"ids": list(dict.fromkeys(ids))})
    return [(str(cid), raw) for cid, raw in rows]


async def restore_vectors(
    graph: Any, vectors: Any, ids: Sequence[str], rows: npt.NDArray[np.float32]
) -> list[str]:
    """Write the vector rows of the chunks ``ids`` (``rows`` in the same order), with the
    payload an import writes, read from the chunk nodes; ids that name no chunk are skipped."""
    if len(ids) != len(rows):
        raise ValueError(f"{len(ids)} chunks but {len(rows)} vectors")
    found = dict(await _chunk_rows(graph, ids))
    keep = [i for i, cid in enumerate(ids) if cid in found]
    pairs = [_chunk_and_document(ids[i], properties(found[ids[i]])) for i in keep]
    if pairs:
        await write_chunk_vectors(await vectors.get_connection(), pairs, rows[keep])
    return [ids[i] for i in keep]


def _chunk_and_document(cid: str, p: dict[str, Any]) -> tuple[ChunkNode, DocumentNode]:
    """The records a vector row's payload is made of, from a chunk node's properties."""
    doc = DocumentNode(
        id=str(p.get("document_id", "")),
        title=str(p.get("document_title", "")),
        source=str(p.get("source", "")),
        content_hash="",
        kind="",
        pages=0,
    )
    chunk = ChunkNode(
        id=cid,
        document_id=doc.id,
        index=int(p.get("chunk_index", 0)),
        text=str(p.get("text", "")),
        page_start=int(p.get("page_start", 0)),
        page_end=int(p.get("page_end", 0)),
        section_id=None,
        section_path=tuple(p.get("section") or ()),
        page_label_start=p.get("page_label_start") or None,
        page_label_end=p.get("page_label_end") or None,
    )
    return chunk, doc


async def merge(graph: Any, vectors: Any, keep: str, drop: str, tmp_dir: Path) -> Merge:
    """Fold entity ``drop`` into entity ``keep`` (see the module's docstring)."""
    if keep == drop or len(await _ids(graph, _ENTITIES_AMONG, [keep, drop])) != 2:
        return Merge(keep, drop, merged=False)
    kept = {_edge_key(e): e for e in await _edges(graph, keep)}
    moved: dict[tuple[str, str, str, str], tuple[str, str, str, dict[str, Any]]] = {}
    combined, looped = 0, 0
    for source, target, name, raw in await _edges(graph, drop):
        source, target = (keep if source == drop else source), (keep if target == drop else target)
        if source == target == keep:
            looped += 1
            continue
        props = properties(raw)
        key = (source, target, name, str(props.get("document_id", "")))
        if key in kept:
            combined += 1
            kept[key] = await _add_weight(graph, kept[key], props)
        elif key in moved:
            combined += 1
            _sum_weight(moved[key][3], props)
        else:
            moved[key] = (source, target, name, dict(props))
    await write_edges(graph, list(moved.values()), tmp_dir)
    await vectors.delete_data_points(ENTITY_COLLECTION, [drop])
    await graph.delete_nodes([drop])  # with its edges, now re-pointed
    return Merge(keep, drop, merged=True, moved=len(moved), combined=combined, dropped_edges=looped)


async def _edges(graph: Any, entity: str) -> list[EdgeRow]:
    """Every edge touching ``entity``, each once (a loop shows in both directions)."""
    rows = await graph.query(_OUT, {"id": entity}) + await graph.query(_IN, {"id": entity})
    return list(dict.fromkeys((str(a), str(b), str(n), str(p or "")) for a, b, n, p in rows))


def _edge_key(edge: EdgeRow) -> tuple[str, str, str, str]:
    source, target, name, raw = edge
    return source, target, name, str(properties(raw).get("document_id", ""))


def _sum_weight(into: dict[str, Any], other: dict[str, Any]) -> bool:
    """Add ``other``'s weight to ``into``'s; False if neither edge has one (a mention)."""
    if "weight" not in into and "weight" not in other:
        return False
    into["weight"] = float(into.get("weight", 1.0)) + float(other.get("weight", 1.0))
    return True


async def _add_weight(graph: Any, edge: EdgeRow, other: dict[str, Any]) -> EdgeRow:
    """The kept edge with ``other``'s weight added, written back; as it was if neither has one."""
    source, target, name, raw = edge
    props = dict(properties(raw))
    if not _sum_weight(props, other):
        return edge
    new = json.dumps(props)
    await graph.query(_SET_WEIGHT, {"a": source, "b": target, "name": name, "old": raw, "new": new})
    return source, target, name, new
