"""Graph reads and deletes inside one dataset's database context (engines given).

Ladybug's Cypher dialect: nodes are ``Node`` rows (id, name, type, a JSON ``properties``
blob), edges ``EDGE`` rows (relationship_name, JSON properties). Lookups by id go through
``UNWIND $ids AS i MATCH (n:Node {id: i})`` (primary-key lookups: ``IN`` lists scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cognition.datasets import entity_id
from cognition.store.cognee.schema import CHUNK_COLLECTION, ENTITY_COLLECTION, properties
from cognition.store.port import Counts, DatasetStats, EntityInfo, GraphData, Neighbour, StoredChunk

_ENTITY_EDGES = """
MATCH (a:Node)-[r:EDGE]->(b:Node)
WHERE a.type = 'Entity' AND b.type = 'Entity'
RETURN a.id, b.id, r.properties
"""
_MENTIONS = """
MATCH (c:Node)-[r:EDGE]->(e:Node)
WHERE r.relationship_name = 'mentions'
RETURN c.id, e.id
"""


async def chunks_by_id(graph: Any, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
    if not ids:
        return []
    rows = await graph.query(  # primary-key lookups: an IN list would scan every node
        "UNWIND $ids AS i MATCH (n:Node {id: i}) WHERE n.type = 'Chunk' RETURN n.id, n.properties",
        {"ids": list(ids)},
    )
    return [_chunk(dataset, str(chunk_id), raw) for chunk_id, raw in rows]


def _chunk(dataset: str, chunk_id: str, raw: Any) -> StoredChunk:
    p = properties(raw)
    return StoredChunk(
        id=chunk_id,
        dataset=dataset,
        document_id=str(p.get("document_id", "")),
        document_title=str(p.get("document_title", "")),
        source=str(p.get("source", "")),
        section_path=tuple(p.get("section") or ()),
        page_start=int(p.get("page_start", 0)),
        page_end=int(p.get("page_end", 0)),
        text=str(p.get("text", "")),
        page_label_start=_label(p.get("page_label_start")),
        page_label_end=_label(p.get("page_label_end")),
    )


def _label(value: Any) -> str | None:
    """A printed page label as stored (absent in chunks written before labels were)."""
    return str(value) if value else None


async def graph_data(graph: Any) -> GraphData:
    """The retrieval graph: entities, chunks, mentions and entity relations (weights summed)."""
    entities = await graph.query("MATCH (n:Node) WHERE n.type = 'Entity' RETURN n.id, n.name, n.properties")
    chunks = await graph.query("MATCH (n:Node) WHERE n.type = 'Chunk' RETURN n.id")
    entity_ids = [str(r[0]) for r in entities]
    keys = [str(properties(r[2]).get("key") or r[1]).lower() for r in entities]
    chunk_ids = [str(r[0]) for r in chunks]
    e_index = {e: i for i, e in enumerate(entity_ids)}
    c_index = {c: i for i, c in enumerate(chunk_ids)}
    mention_pairs = [
        (c_index[str(c)], e_index[str(e)])
        for c, e in await graph.query(_MENTIONS)
        if str(c) in c_index and str(e) in e_index
    ]
    relations = await _relations(graph, e_index)
    return GraphData(
        entity_ids=entity_ids,
        entity_keys=keys,
        entity_names=[str(r[1]) for r in entities],
        chunk_ids=chunk_ids,
        mention_chunk=np.array([m[0] for m in mention_pairs], dtype=np.int64),
        mention_entity=np.array([m[1] for m in mention_pairs], dtype=np.int64),
        relation_source=np.array([r[0] for r in relations], dtype=np.int64),
        relation_target=np.array([r[1] for r in relations], dtype=np.int64),
        relation_weight=np.array([r[2] for r in relations], dtype=np.float64),
    )


async def _relations(graph: Any, e_index: dict[str, int]) -> list[tuple[int, int, float]]:
    weights: dict[tuple[int, int], float] = {}
    for a, b, raw in await graph.query(_ENTITY_EDGES):
        pair = (e_index[str(a)], e_index[str(b)])
        weights[pair] = weights.get(pair, 0.0) + float(properties(raw).get("weight", 1.0))
    return [(a, b, w) for (a, b), w in weights.items()]


async def delete_document(graph: Any, vectors: Any, document_id: str) -> None:
    """Remove a document's vectors, edges and nodes (in that order, so a crash midway leaves
    nothing a second call cannot find), then every entity no chunk mentions any more."""
    rows = await graph.query(
        "MATCH (n:Node) WHERE n.id = $doc OR n.properties CONTAINS $needle RETURN n.id, n.type",
        {"doc": document_id, "needle": document_id},
    )
    node_ids = [str(r[0]) for r in rows]
    await vectors.delete_data_points(CHUNK_COLLECTION, [str(r[0]) for r in rows if r[1] == "Chunk"])
    await graph.query(
        "MATCH (:Node)-[r:EDGE]->(:Node) WHERE r.properties CONTAINS $needle DELETE r",
        {"needle": document_id},
    )
    if node_ids:
        await graph.delete_nodes(node_ids)
    await delete_orphan_entities(graph)


async def delete_orphan_entities(graph: Any) -> int:
    """Delete entities that no chunk mentions (left by a deleted or partly written document)."""
    rows = await graph.query(
        "MATCH (e:Node) WHERE e.type = 'Entity' AND NOT EXISTS "
        "{ MATCH (:Node)-[r:EDGE]->(e) WHERE r.relationship_name = 'mentions' } RETURN e.id"
    )
    orphans = [str(r[0]) for r in rows]
    if orphans:
        await graph.delete_nodes(orphans)
    return len(orphans)


_ENTITIES = """
UNWIND $ids AS i MATCH (e:Node {id: i}) WHERE e.type = 'Entity'
OPTIONAL MATCH (c:Node)-[r:EDGE]->(e) WHERE r.relationship_name = 'mentions'
RETURN e.id, e.name, e.properties, count(c)
"""
_OUT = """
MATCH (a:Node {id: $id})-[r:EDGE]->(b:Node) WHERE b.type = 'Entity' AND r.relationship_name <> 'mentions'
RETURN b.id, r.relationship_name, r.properties
"""
_IN = """
MATCH (b:Node)-[r:EDGE]->(a:Node {id: $id}) WHERE b.type = 'Entity' AND r.relationship_name <> 'mentions'
RETURN b.id, r.relationship_name, r.properties
"""
_MENTIONING = """
MATCH (c:Node)-[r:EDGE]->(e:Node {id: $id})
WHERE r.relationship_name = 'mentions' AND c.type = 'Chunk'
RETURN c.id, c.properties ORDER BY c.id LIMIT $limit
"""


async def entities(graph: Any, ids: Sequence[str]) -> list[EntityInfo]:
    """Entities by id, in the order of ``ids`` (each once); other ids are skipped."""
    if not ids:
        return []
    order = {eid: i for i, eid in enumerate(dict.fromkeys(ids))}
    rows = await graph.query(_ENTITIES, {"ids": list(order)})
    found = []
    for eid, name, raw, chunks in rows:
        p = properties(raw)
        key = str(p.get("key") or name).lower()
        found.append(EntityInfo(str(eid), key, str(name), str(p.get("kind", "")), int(chunks)))
    return sorted(found, key=lambda e: order[e.id])


async def entities_by_key(graph: Any, dataset: str, keys: Sequence[str]) -> list[EntityInfo]:
    """Entities of these normalized keys (their ids derive from the key)."""
    return await entities(graph, [entity_id(dataset, key) for key in keys])


async def neighbours(graph: Any, eid: str, limit: int) -> list[Neighbour]:
    """Related entities, the weights of one relation summed over the documents stating it."""
    weights: dict[tuple[str, str, str], float] = {}
    for direction, query in (("out", _OUT), ("in", _IN)):
        for other, name, raw in await graph.query(query, {"id": eid}):
            key = (str(other), str(name), direction)
            weights[key] = weights.get(key, 0.0) + float(properties(raw).get("weight", 1.0))
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    info = {e.id: e for e in await entities(graph, [other for (other, _, _), _ in best])}
    return [
        Neighbour(info[other], name, weight, "out" if direction == "out" else "in")
        for (other, name, direction), weight in best
        if other in info
    ]


async def chunks_mentioning(graph: Any, dataset: str, eid: str, limit: int) -> list[StoredChunk]:
    rows = await graph.query(_MENTIONING, {"id": eid, "limit": limit})
    return [_chunk(dataset, str(chunk_id), raw) for chunk_id, raw in rows]


async def counts(graph: Any, vector_rows: int) -> Counts:
    nodes = {str(k): int(v) for k, v in await graph.query("MATCH (n:Node) RETURN n.type, count(*)")}
    edges = {
        str(k): int(v)
        for k, v in await graph.query("MATCH ()-[r:EDGE]->() RETURN r.relationship_name, count(*)")
    }
    return Counts(nodes=nodes, edges=edges, vectors={CHUNK_COLLECTION: vector_rows})


async def stats(graph: Any, vectors: Any) -> DatasetStats:
    by_type = dict(await graph.query("MATCH (n:Node) RETURN n.type, count(*)"))
    edges = await graph.query("MATCH ()-[r:EDGE]->() RETURN count(r)")
    return DatasetStats(
        nodes=int(sum(by_type.values())),
        edges=int(edges[0][0]) if edges else 0,
        documents=int(by_type.get("Document", 0)),
        chunks=int(by_type.get("Chunk", 0)),
        entities=int(by_type.get("Entity", 0)),
        chunk_vectors=await _count(vectors, CHUNK_COLLECTION),
        entity_vectors=await _count(vectors, ENTITY_COLLECTION),
    )


async def _count(vectors: Any, collection: str) -> int:
    if not await vectors.has_collection(collection):
        return 0
    table = await vectors.get_collection(collection)
    return int(await table.count_rows())
