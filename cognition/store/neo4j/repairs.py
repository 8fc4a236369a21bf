"""Repairs of one Neo4j dataset, each re-checking its defect inside its own transaction
(see :mod:`cognition.store.cognee.repairs` for the rules; the same here, in Cypher).

Merging re-points the dropped entity's edges to the kept one: an edge the kept entity
already has for the same relation and document takes the moved edge's weight (added to
one of them, so the pair's summed weight is what the two had apart); mentions carry no
weight and are not doubled; edges between the two are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cognition.store.neo4j.cypher import run, scoped
from cognition.store.neo4j.writes import write_edges
from cognition.store.port import Merge

_ORPHANS_AMONG = scoped(
    "UNWIND $ids AS i MATCH (e:Node {id: i, type: 'Entity'}) "
    "WHERE NOT EXISTS { MATCH (:Node)-[r:EDGE {name: 'mentions'}]->(e) } "
    "WITH e, e.id AS id DETACH DELETE e RETURN id"
)
_ORPHANS = scoped(
    "MATCH (e:Node {type: 'Entity'}) WHERE NOT EXISTS { MATCH (:Node)-[r:EDGE {name: 'mentions'}]->(e) } "
    "WITH e, e.id AS id DETACH DELETE e RETURN id"
)
_ENTITIES_AMONG = scoped("UNWIND $ids AS i MATCH (e:Node {id: i, type: 'Entity'}) RETURN e.id")
_EDGES_OF = scoped(
    "MATCH (a:Node)-[r:EDGE]->(b:Node) WHERE a.id = $id OR b.id = $id "
    "RETURN a.id, b.id, r.name, r.document_id, r.weight"
)
_ADD_WEIGHT = scoped(
    "MATCH (a:Node {id: $a})-[r:EDGE {name: $name, document_id: $doc}]->(b:Node {id: $b}) "
    "WITH r LIMIT 1 SET r.weight = coalesce(r.weight, 1.0) + $add"
)
_DELETE = scoped("MATCH (n:Node {id: $id}) DETACH DELETE n")

EdgeKey = tuple[str, str, str, str]  # source, target, relation, document


async def delete_orphans_among(tx: Any, dataset: str, ids: Sequence[str]) -> list[str]:
    if not ids:
        return []
    return sorted({str(r[0]) for r in await run(tx, _ORPHANS_AMONG, dataset, ids=list(dict.fromkeys(ids)))})


async def delete_orphans(tx: Any, dataset: str) -> int:
    """Every entity no chunk mentions (left by a deleted document)."""
    return len(await run(tx, _ORPHANS, dataset))


async def merge(tx: Any, dataset: str, keep: str, drop: str) -> Merge:
    found = await run(tx, _ENTITIES_AMONG, dataset, ids=[keep, drop])
    if keep == drop or len({str(r[0]) for r in found}) != 2:
        return Merge(keep, drop, merged=False)
    kept = {_key(row) for row in await run(tx, _EDGES_OF, dataset, id=keep)}
    moved: dict[EdgeKey, dict[str, Any]] = {}
    combined = looped = 0
    for source, target, name, doc, weight in await run(tx, _EDGES_OF, dataset, id=drop):
        source, target = (keep if source == drop else str(source)), (keep if target == drop else str(target))
        if source == target == keep:
            looped += 1
            continue
        key = (source, target, str(name), str(doc or ""))
        if key in kept:
            combined += 1
            if weight is not None:
                await run(tx, _ADD_WEIGHT, dataset, a=source, b=target, name=name, doc=doc, add=float(weight))
        elif key in moved:
            combined += 1
            if weight is not None:
                moved[key]["weight"] = float(moved[key]["weight"] or 1.0) + float(weight)
        else:
            row = {"source": source, "target": target, "name": name, "document_id": doc, "weight": weight}
            moved[key] = row
    await run(tx, _DELETE, dataset, id=drop)  # with its edges, re-created below
    await write_edges(tx, dataset, list(moved.values()))
    return Merge(keep, drop, merged=True, moved=len(moved), combined=combined, dropped_edges=looped)


def _key(row: Sequence[Any]) -> EdgeKey:
    return str(row[0]), str(row[1]), str(row[2]), str(row[3] or "")
