"""Graph reads of one dataset on Neo4j: what search, the API and ``graphquery`` need.

Properties are flat on the nodes (no JSON blob): a chunk's provenance is its own fields.
Relation weights are summed in the database over the documents that state a relation;
counts and stats are grouped aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cognition.datasets import entity_id
from cognition.store.cognee.schema import CHUNK_COLLECTION
from cognition.store.neo4j.cypher import run, scoped
from cognition.store.port import Counts, EntityInfo, GraphData, Neighbour, StoredChunk

CHUNK_FIELDS = (
    "c.id, c.document_id, c.document_title, c.source, c.section, c.page_start, c.page_end, c.text, "
    "c.page_label_start, c.page_label_end"
)
_CHUNKS = scoped(f"UNWIND $ids AS i MATCH (c:Node {{id: i, type: 'Chunk'}}) RETURN {CHUNK_FIELDS}")
_CHUNK_INDEXES = scoped("UNWIND $ids AS i MATCH (c:Node {id: i, type: 'Chunk'}) RETURN c.id, c.chunk_index")
_ENTITY_ROWS = scoped("MATCH (n:Node {type: 'Entity'}) RETURN n.id, n.key, n.name ORDER BY n.id")
_CHUNK_IDS = scoped("MATCH (n:Node {type: 'Chunk'}) RETURN n.id ORDER BY n.id")
_MENTIONS = scoped(
    "MATCH (c:Node {type: 'Chunk'})-[r:EDGE {name: 'mentions'}]->(e:Node {type: 'Entity'}) RETURN c.id, e.id"
)
_RELATIONS = scoped(
    "MATCH (a:Node {type: 'Entity'})-[r:EDGE]->(b:Node {type: 'Entity'}) "
    "RETURN a.id, b.id, sum(coalesce(r.weight, 1.0))"
)
_ENTITIES = scoped(
    "UNWIND $ids AS i MATCH (e:Node {id: i, type: 'Entity'}) "
    "OPTIONAL MATCH (c:Node)-[r:EDGE {name: 'mentions'}]->(e) RETURN e.id, e.key, e.name, e.kind, count(c)"
)
_OUT = scoped(
    "MATCH (a:Node {id: $id})-[r:EDGE]->(b:Node {type: 'Entity'}) WHERE r.name <> 'mentions' "
    "RETURN b.id, r.name, sum(coalesce(r.weight, 1.0))"
)
_IN = scoped(
    "MATCH (b:Node {type: 'Entity'})-[r:EDGE]->(a:Node {id: $id}) WHERE r.name <> 'mentions' "
    "RETURN b.id, r.name, sum(coalesce(r.weight, 1.0))"
)
_MENTIONING = scoped(
    "MATCH (c:Node {type: 'Chunk'})-[r:EDGE {name: 'mentions'}]->(e:Node {id: $id}) "
    f"RETURN {CHUNK_FIELDS} ORDER BY c.id LIMIT $limit"
)
_NODE_TYPES = scoped("MATCH (n:Node) RETURN n.type, count(*)")
_EDGE_NAMES = scoped("MATCH (:Node)-[r:EDGE]->(:Node) RETURN r.name, count(*)")


def chunk(dataset: str, row: Sequence[Any]) -> StoredChunk:
    """A chunk from a row of :data:`CHUNK_FIELDS`."""
    cid, doc, title, source, section, start, end, text, label_start, label_end = row
    return StoredChunk(
        id=str(cid),
        dataset=dataset,
        document_id=str(doc or ""),
        document_title=str(title or ""),
        source=str(source or ""),
        section_path=tuple(section or ()),
        page_start=int(start or 0),
        page_end=int(end or 0),
        text=str(text or ""),
        page_label_start=label_start or None,
        page_label_end=label_end or None,
    )


async def chunks_by_id(tx: Any, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
    if not ids:
        return []
    return [chunk(dataset, row) for row in await run(tx, _CHUNKS, dataset, ids=list(ids))]


async def chunk_indexes(tx: Any, dataset: str, ids: Sequence[str]) -> dict[str, int]:
    """Each chunk's position in its document (a restored vector row's payload carries it)."""
    rows = await run(tx, _CHUNK_INDEXES, dataset, ids=list(ids)) if ids else []
    return {str(cid): int(index or 0) for cid, index in rows}


async def graph_data(tx: Any, dataset: str) -> GraphData:
    """The retrieval graph: entities, chunks, mentions and relations (weights summed)."""
    entities = await run(tx, _ENTITY_ROWS, dataset)
    chunk_ids = [str(r[0]) for r in await run(tx, _CHUNK_IDS, dataset)]
    entity_ids = [str(r[0]) for r in entities]
    e_index = {e: i for i, e in enumerate(entity_ids)}
    c_index = {c: i for i, c in enumerate(chunk_ids)}
    mentions = [(c_index[str(c)], e_index[str(e)]) for c, e in await run(tx, _MENTIONS, dataset)]
    relations = [
        (e_index[str(a)], e_index[str(b)], float(w)) for a, b, w in await run(tx, _RELATIONS, dataset)
    ]
    return GraphData(
        entity_ids=entity_ids,
        entity_keys=[str(r[1] or r[2]).lower() for r in entities],
        entity_names=[str(r[2]) for r in entities],
        chunk_ids=chunk_ids,
        mention_chunk=np.array([m[0] for m in mentions], dtype=np.int64),
        mention_entity=np.array([m[1] for m in mentions], dtype=np.int64),
        relation_source=np.array([r[0] for r in relations], dtype=np.int64),
        relation_target=np.array([r[1] for r in relations], dtype=np.int64),
        relation_weight=np.array([r[2] for r in relations], dtype=np.float64),
    )


async def entities(tx: Any, dataset: str, ids: Sequence[str]) -> list[EntityInfo]:
    """Entities by id, in the order of ``ids`` (each once); other ids are skipped."""
    if not ids:
        return []
    order = {eid: i for i, eid in enumerate(dict.fromkeys(ids))}
    found = [
        EntityInfo(str(eid), str(key or name).lower(), str(name), str(kind or ""), int(n))
        for eid, key, name, kind, n in await run(tx, _ENTITIES, dataset, ids=list(order))
    ]
    return sorted(found, key=lambda e: order[e.id])


async def entities_by_key(tx: Any, dataset: str, keys: Sequence[str]) -> list[EntityInfo]:
    return await entities(tx, dataset, [entity_id(dataset, key) for key in keys])


async def neighbours(tx: Any, dataset: str, eid: str, limit: int) -> list[Neighbour]:
    weights: dict[tuple[str, str, str], float] = {}
    for direction, query in (("out", _OUT), ("in", _IN)):
        for other, name, weight in await run(tx, query, dataset, id=eid):
            weights[(str(other), str(name), direction)] = float(weight)
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    info = {e.id: e for e in await entities(tx, dataset, [other for (other, _, _), _ in best])}
    return [
        Neighbour(info[other], name, weight, "out" if direction == "out" else "in")
        for (other, name, direction), weight in best
        if other in info
    ]


async def chunks_mentioning(tx: Any, dataset: str, eid: str, limit: int) -> list[StoredChunk]:
    return [chunk(dataset, row) for row in await run(tx, _MENTIONING, dataset, id=eid, limit=limit)]


async def counts(tx: Any, dataset: str, vector_rows: int) -> Counts:
    nodes = {str(k): int(v) for k, v in await run(tx, _NODE_TYPES, dataset)}
    edges = {str(k): int(v) for k, v in await run(tx, _EDGE_NAMES, dataset)}
    return Counts(nodes=nodes, edges=edges, vectors={CHUNK_COLLECTION: vector_rows})
