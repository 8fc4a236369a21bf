"""Audit facts of one Neo4j dataset: the Ladybug path's checks, in Cypher, no GDS.

Every graph question is a grouped aggregate or a keyset page on ``(dataset, id)``; vectors
are read one column in record batches (as on the Ladybug path). Components run a
union-find over dense slots: node pages give each node's internal id, sorted into one
integer array, and each page of edges is mapped onto it with ``searchsorted`` — no id
string is held beyond a page. The isolation facts add what only a shared database can get
wrong: edges of this dataset that reach a node of another (or of none), or carry another
dataset's name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np

from cognition.datasets import chunk_id, document_id, entity_id
from cognition.store.cognee.audit import id_pages
from cognition.store.cognee.shape import RELATION, SHAPES, storage_bytes
from cognition.store.components import UnionFind, components_of, degrees_of, summarize
from cognition.store.neo4j import reads
from cognition.store.neo4j.cypher import run, scoped
from cognition.store.neo4j.vectors import DatasetVectors
from cognition.store.port import AuditFacts, Components, Degrees, Offenders

T = TypeVar("T")
Read = Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]
PAGE = 5000

_ORPHAN = (
    "MATCH (e:Node {type: 'Entity'}) WHERE NOT EXISTS { MATCH (:Node)-[r:EDGE {name: 'mentions'}]->(e) } "
)
_ORPHAN_COUNT = scoped(_ORPHAN + "RETURN count(e)")
_ORPHAN_IDS = scoped(_ORPHAN + "RETURN e.id ORDER BY e.id LIMIT $cap")
_CHUNKS_PER_DOC = scoped("MATCH (c:Node {type: 'Chunk'}) RETURN c.document_id, count(*)")
_CHUNKS_OF_DOCS = scoped(
    "MATCH (c:Node {type: 'Chunk'}) WHERE c.document_id IN $docs RETURN c.id ORDER BY c.id LIMIT $cap"
)
_MENTIONS_PER_CHUNK = scoped(
    "MATCH (c:Node {type: 'Chunk'}) OPTIONAL MATCH (c)-[r:EDGE {name: 'mentions'}]->(:Node) "
    "WITH c, count(r) AS m RETURN count(*), sum(m), sum(CASE WHEN m = 0 THEN 1 ELSE 0 END)"
)
_DEGREE = "MATCH (e:Node {type: 'Entity'}) OPTIONAL MATCH (e)-[r:EDGE]-(:Node) WITH e, count(r) AS degree "
_HISTOGRAM = scoped(_DEGREE + "RETURN degree, count(*)")
_HUBS = scoped(_DEGREE + "RETURN e.id, e.name, degree ORDER BY degree DESC, e.id LIMIT $n")
_DOCUMENTS = scoped(
    "MATCH (n:Node {type: 'Document'}) WHERE n.id > $after RETURN n.id ORDER BY n.id LIMIT $limit"
)
_KEYS = scoped(
    "MATCH (n:Node {type: 'Entity'}) WHERE n.id > $after RETURN n.id, n.key ORDER BY n.id LIMIT $limit"
)
_FIELDS = {  # type → the fields its id derives from
    "Document": "n.content_hash, ''",
    "Entity": "n.key, ''",
    "Chunk": "n.document_id, n.chunk_index",
}
_FOREIGN = {
    kind: scoped(
        f"MATCH (n:Node {{type: '{kind}'}}) WHERE n.id > $after "
        f"RETURN n.id, {fields} ORDER BY n.id LIMIT $limit"
    )
    for kind, fields in _FIELDS.items()
}
# Crossing the dataset: the only queries with an unscoped far end (``crossing=True``).
_CROSSING = (
    "MATCH (a:Node)-[r]-(b) WHERE r.dataset IS NULL OR r.dataset <> $dataset "
    "OR b.dataset IS NULL OR b.dataset <> $dataset WITH DISTINCT a.id AS id "
)
_CROSSING_COUNT = scoped(_CROSSING + "RETURN count(id)", crossing=True)
_CROSSING_IDS = scoped(_CROSSING + "RETURN id ORDER BY id LIMIT $cap", crossing=True)
_SHAPES = scoped(
    "MATCH (a:Node)-[r:EDGE]->(b:Node) WITH a.type AS s, "
    "CASE WHEN r.name IN $names THEN r.name ELSE '' END AS rel, b.type AS t, count(*) AS n "
    "RETURN s, rel, t, n"
)
_EDGES_OF_SHAPE = scoped(
    "MATCH (a:Node {type: $s})-[r:EDGE]->(b:Node {type: $t}) "
    "WHERE (CASE WHEN r.name IN $names THEN r.name ELSE '' END) = $rel "
    "RETURN a.id, r.name, b.id ORDER BY a.id, b.id LIMIT $cap"
)
_PAGES_COVERED = scoped(
    "MATCH (d:Node)-[h:EDGE {name: 'has_page'}]->(p:Node) "
    "WHERE EXISTS { MATCH (:Node)-[o:EDGE {name: 'on_page'}]->(p) } RETURN d.id, count(*)"
)
_NODE_PAGE = scoped(
    "MATCH (n:Node) WHERE n.id > $after RETURN n.id, id(n), n.type = 'Entity' ORDER BY n.id LIMIT $limit"
)
_EDGE_PAGE = scoped(
    "MATCH (a:Node) WHERE a.id > $after WITH a ORDER BY a.id LIMIT $limit "
    "OPTIONAL MATCH (a)-[r:EDGE]->(b:Node) RETURN a.id, id(a), collect(id(b))"
)
_NAMED = scoped("MATCH (n:Node) WHERE id(n) IN $ids RETURN n.id ORDER BY n.id")


async def audit_facts(read: Read[Any], dataset: str, space: DatasetVectors, cap: int) -> AuditFacts:
    table = await space.reader.table()
    vector_rows = 0 if table is None else int(await table.count_rows())
    found = await read(lambda tx: reads.counts(tx, dataset, vector_rows))
    stray = await _vectors_without_chunk(read, dataset, table, cap)
    chunks = found.nodes.get("Chunk", 0)
    chunk_total, mentions, bare = await read(lambda tx: _mentions(tx, dataset))
    docs_without, chunks_without, per_doc = await _documents_and_chunks(read, dataset, cap)
    covered = {str(d): int(n) for d, n in await read(lambda tx: run(tx, _PAGES_COVERED, dataset))}
    return AuditFacts(
        counts=found,
        vector_dimensions=None if table is None else _dimensions(await table.schema()),
        orphan_entities=await read(lambda tx: _orphans(tx, dataset, cap)),
        documents_without_chunks=docs_without,
        chunks_without_document=chunks_without,
        chunks_without_vector=await _chunks_without_vector(
            read, dataset, space, chunks - (vector_rows - stray.total), cap
        ),
        vectors_without_chunk=stray,
        foreign_ids=await foreign_ids(read, dataset, cap),
        degrees=await read(lambda tx: degrees(tx, dataset)),
        mentions=mentions,
        chunks_without_entity=bare if chunk_total else 0,
        components=await components(read, dataset, cap),
        dangling_edges=await read(lambda tx: dangling_edges(tx, dataset, cap)),
        coverage={d: (n, covered.get(d, 0)) for d, n in per_doc.items()},
        storage=storage_bytes(None, str(space.directory)),
    )


def _dimensions(schema: Any) -> int | None:
    kind = schema.field("vector").type
    return int(kind.list_size) if hasattr(kind, "list_size") else None


async def _orphans(tx: Any, dataset: str, cap: int) -> Offenders:
    total = await run(tx, _ORPHAN_COUNT, dataset)
    ids = await run(tx, _ORPHAN_IDS, dataset, cap=cap)
    return Offenders(int(total[0][0]) if total else 0, tuple(str(r[0]) for r in ids))


async def _mentions(tx: Any, dataset: str) -> tuple[int, int, int]:
    rows = await run(tx, _MENTIONS_PER_CHUNK, dataset)
    if not rows or rows[0][0] is None:
        return 0, 0, 0
    total, mentions, bare = (int(v or 0) for v in rows[0])
    return total, mentions, bare


async def document_ids(tx: Any, dataset: str, after: str, limit: int) -> list[str]:
    return [str(r[0]) for r in await run(tx, _DOCUMENTS, dataset, after=after, limit=limit)]


async def entity_keys(tx: Any, dataset: str, after: str, limit: int) -> list[tuple[str, str]]:
    return [(str(i), str(k or "")) for i, k in await run(tx, _KEYS, dataset, after=after, limit=limit)]


async def _documents_and_chunks(
    read: Read[Any], dataset: str, cap: int
) -> tuple[Offenders, Offenders, dict[str, int]]:
    per_doc = {str(d): int(n) for d, n in await read(lambda tx: run(tx, _CHUNKS_PER_DOC, dataset))}
    documents: set[str] = set()
    async for page in id_pages(lambda after: read(lambda tx: document_ids(tx, dataset, after, PAGE))):
        documents.update(page)
    lonely = sorted(documents - per_doc.keys())
    missing = sorted(per_doc.keys() - documents)
    listed = (
        await read(lambda tx: run(tx, _CHUNKS_OF_DOCS, dataset, docs=missing, cap=cap)) if missing else []
    )
    return (
        Offenders(len(lonely), tuple(lonely[:cap])),
        Offenders(sum(per_doc[d] for d in missing), tuple(str(r[0]) for r in listed)),
        per_doc,
    )


async def degrees(tx: Any, dataset: str, hubs: int = 10) -> Degrees:
    histogram = {int(d): int(n) for d, n in await run(tx, _HISTOGRAM, dataset)}
    top = await run(tx, _HUBS, dataset, n=hubs)
    return degrees_of(histogram, tuple((str(i), str(name), int(d)) for i, name, d in top))


def _derived(dataset: str, kind: str, first: Any, second: Any) -> str:
    if kind == "Document":
        return document_id(dataset, str(first or ""))
    if kind == "Entity":
        return entity_id(dataset, str(first or ""))
    return chunk_id(str(first or ""), int(second) if second is not None else -1)


async def foreign_ids(read: Read[Any], dataset: str, cap: int) -> Offenders:
    """Nodes whose id is not the one this dataset derives from their content, and nodes of
    this dataset with an edge that leaves it (to a node of another dataset or of none, or
    an edge marked with another dataset): either breaks isolation in a shared database."""
    bad: list[str] = []
    total = 0
    for kind, query in _FOREIGN.items():
        after = ""
        while page := await read(lambda tx, q=query, a=after: run(tx, q, dataset, after=a, limit=PAGE)):  # type: ignore[misc]
            lost = [str(i) for i, a, b in page if str(i) != _derived(dataset, kind, a, b)]
            total, bad = total + len(lost), sorted(bad + lost)[:cap]
            after = str(page[-1][0])
    crossing = await read(lambda tx: run(tx, _CROSSING_COUNT, dataset))
    listed = [str(r[0]) for r in await read(lambda tx: run(tx, _CROSSING_IDS, dataset, cap=cap))]
    return Offenders(total + int(crossing[0][0]), tuple(sorted(set(bad + listed))[:cap]))


def _shape_ok(source: str, rel: str, target: str) -> bool:
    sources, targets = SHAPES.get(rel, RELATION)
    return source in sources and target in targets


async def dangling_edges(tx: Any, dataset: str, cap: int) -> Offenders:
    names = list(SHAPES)
    bad = [
        (str(s), str(rel), str(t), int(n))
        for s, rel, t, n in await run(tx, _SHAPES, dataset, names=names)
        if not _shape_ok(str(s), str(rel), str(t))
    ]
    listed: list[str] = []
    for s, rel, t, _ in sorted(bad):
        if len(listed) >= cap:
            break
        rows = await run(tx, _EDGES_OF_SHAPE, dataset, s=s, t=t, rel=rel, names=names, cap=cap - len(listed))
        listed += [f"{a} -{name}-> {b}" for a, name, b in rows]
    return Offenders(sum(n for *_, n in bad), tuple(listed))


async def components(read: Read[Any], dataset: str, cap: int) -> Components:
    """Connected components over every node and edge (undirected), two keyset passes."""
    slots: list[np.ndarray] = []
    marks: list[np.ndarray] = []
    after = ""
    while page := await read(lambda tx, a=after: run(tx, _NODE_PAGE, dataset, after=a, limit=PAGE)):  # type: ignore[misc]
        slots.append(np.array([int(r[1]) for r in page], np.int64))
        marks.append(np.array([bool(r[2]) for r in page], bool))
        after = str(page[-1][0])
    if not slots:
        return Components()
    internal, entity = np.concatenate(slots), np.concatenate(marks)
    order = np.argsort(internal)
    internal, entity = internal[order], entity[order]
    found = UnionFind(internal.size)
    found.add_nodes(np.arange(internal.size, dtype=np.int64), entity)
    after = ""
    while page := await read(lambda tx, a=after: run(tx, _EDGE_PAGE, dataset, after=a, limit=PAGE)):  # type: ignore[misc]
        sources = [int(r[1]) for r in page for _ in r[2]]
        targets = [int(t) for r in page for t in r[2]]
        if sources:
            found.union(np.searchsorted(internal, sources), np.searchsorted(internal, targets))
        after = str(page[-1][0])
    summary = summarize(found, cap)
    ids = [int(internal[s]) for s in summary.outside]
    named = await read(lambda tx: run(tx, _NAMED, dataset, ids=ids)) if ids else []
    return components_of(summary, tuple(str(r[0]) for r in named))


async def _vectors_without_chunk(read: Read[Any], dataset: str, table: Any, cap: int) -> Offenders:
    if table is None:
        return Offenders()
    stray: list[str] = []
    total = 0
    async for batch in await table.query().select(["id"]).to_batches(max_batch_length=PAGE):
        ids = [str(i) for i in batch.column("id").to_pylist()]
        known = {c.id for c in await read(lambda tx, i=ids: reads.chunks_by_id(tx, dataset, i))}  # type: ignore[misc]
        lost = [i for i in ids if i not in known]
        total += len(lost)
        stray = sorted(stray + lost)[:cap]
    return Offenders(total, tuple(stray))


async def _chunks_without_vector(
    read: Read[Any], dataset: str, space: DatasetVectors, expected: int, cap: int
) -> Offenders:
    if expected <= 0:
        return Offenders()
    missing: list[str] = []
    total = 0
    after = ""
    query = _FOREIGN["Chunk"]
    while page := await read(lambda tx, a=after: run(tx, query, dataset, after=a, limit=PAGE)):  # type: ignore[misc]
        ids = [str(r[0]) for r in page]
        present = await space.present(ids)
        lost = [i for i in ids if i not in present]
        total, missing = total + len(lost), (missing + lost)[:cap]
        after = ids[-1]
    return Offenders(total, tuple(missing))
