"""Audit facts of one dataset, computed inside Ladybug and LanceDB.

Every graph question is an aggregate (``count``, grouped counts) or a bounded page (keyset
paging on the primary key, ``LIMIT``, or a range of node offsets); LanceDB is read one
column at a time in record batches. Python holds per-document sets (a dataset has thousands
of documents, not millions) and one page at a time, never every node, edge or vector.

A check that reads a field of every node scans ranges of node offsets (each node read once:
a keyset page re-scans every node after its cursor, quadratic in the graph).

Fields of a node's JSON ``properties`` are read in Cypher with ``split_part`` (the blob's
tail after ``"field": "``, parsed here when needed): the blob is ``json.dumps`` output, whose
string values escape their quotes, so ``"document_id": "`` cannot occur inside a chunk's
text. Ladybug's ``regexp_extract`` costs about 90 µs a row (a scan of a million nodes took
minutes), and reading the whole blob out, with a chunk's text, ten times the tail.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from cognition.datasets import chunk_id, document_id, entity_id
from cognition.store.cognee import shape
from cognition.store.cognee.reads import counts
from cognition.store.components import degrees_of
from cognition.store.port import AuditFacts, Degrees, Offenders

PAGE = 2000  # ids per page of a streamed comparison
SPAN = 20_000  # node offsets per range of a full scan (a range's rows are in memory at once)

# Field names are Cypher literals, the JSON string after them is parsed by ``_STRING``.
_DOC_OF = """split_part(split_part(c.properties, '"document_id": "', 2), '"', 1)"""
_KEY_TAIL = """split_part(n.properties, '"key": "', 2)"""
_HASH_TAIL = """split_part(n.properties, '"content_hash": "', 2)"""
_DOC_TAIL = """split_part(n.properties, '"document_id": "', 2)"""
_INDEX_TAIL = """split_part(n.properties, '"chunk_index": ', 2)"""
_STRING = re.compile(r'((?:[^"\\]|\\.)*)"')  # a JSON string's content, up to its closing quote
_DIGITS = re.compile(r"[0-9]+")
_RANGE = (
    "MATCH (n:Node) WHERE offset(id(n)) >= $low AND offset(id(n)) < $high AND n.type = $kind RETURN n.id, "
)


async def _query(graph: Any, query: str, **params: Any) -> list[Any]:
    return list(await graph.query(query, params))


_ORPHAN = (
    "MATCH (e:Node) WHERE e.type = 'Entity' AND NOT EXISTS "
    "{ MATCH (:Node)-[r:EDGE]->(e) WHERE r.relationship_name = 'mentions' } "
)
_CHUNKS_PER_DOC = f"MATCH (c:Node) WHERE c.type = 'Chunk' WITH {_DOC_OF} AS d, count(*) AS n RETURN d, n"
_CHUNKS_OF_DOCS = (
    f"MATCH (c:Node) WHERE c.type = 'Chunk' AND {_DOC_OF} IN $docs RETURN c.id ORDER BY c.id LIMIT $cap"
)
_MENTIONS_PER_CHUNK = """
MATCH (c:Node) WHERE c.type = 'Chunk'
OPTIONAL MATCH (c)-[r:EDGE]->(:Node) WHERE r.relationship_name = 'mentions'
WITH c, count(r) AS m
RETURN count(*), sum(m), sum(CASE WHEN m = 0 THEN 1 ELSE 0 END)
"""
_DEGREE = """
MATCH (e:Node) WHERE offset(id(e)) >= $low AND offset(id(e)) < $high AND e.type = 'Entity'
OPTIONAL MATCH (e)-[r:EDGE]-(:Node)
WITH e, count(r) AS degree
"""
_CHUNK_IDS_PAGE = (
    "MATCH (n:Node) WHERE n.type = 'Chunk' AND n.id > $after RETURN n.id ORDER BY n.id LIMIT $limit"
)
_CHUNKS_BY_ID = "UNWIND $ids AS i MATCH (n:Node {id: i}) WHERE n.type = 'Chunk' RETURN n.id"


async def audit_facts(
    graph: Any, table: Any, dataset: str, cap: int, vector_dir: str | None = None
) -> AuditFacts:
    """Every fact of the port's ``AuditFacts``; ``table`` is the chunk vectors (or None),
    kept in ``vector_dir``."""
    stray = await vectors_without_chunk(graph, table, cap)
    vector_rows = 0 if table is None else int(await table.count_rows())
    found = await counts(graph, vector_rows)
    chunks = found.nodes.get("Chunk", 0)
    chunk_total, mentions, bare = await _mentions(graph)
    docs_without, chunks_without, per_doc = await _documents_and_chunks(graph, cap)
    covered = await shape.pages_covered(graph)
    return AuditFacts(
        counts=found,
        vector_dimensions=None if table is None else await _dimensions(table),
        orphan_entities=await _offenders(graph, _ORPHAN, "e", cap),
        documents_without_chunks=docs_without,
        chunks_without_document=chunks_without,
        chunks_without_vector=await _chunks_without_vector(
            graph, table, chunks - (vector_rows - stray.total), cap
        ),
        vectors_without_chunk=stray,
        foreign_ids=await foreign_ids(graph, dataset, cap),
        degrees=await degrees(graph),
        mentions=mentions,
        chunks_without_entity=bare if chunk_total else 0,
        components=await shape.components(graph, sum(found.edges.values()), cap),
        dangling_edges=await shape.dangling_edges(graph, cap),
        coverage={d: (n, covered.get(d, 0)) for d, n in per_doc.items()},
        storage=shape.storage_bytes(getattr(graph, "db_path", None), vector_dir),
    )


async def _offenders(graph: Any, match: str, var: str, cap: int) -> Offenders:
    total = await graph.query(match + "RETURN count(*)")
    ids = await graph.query(match + f"RETURN {var}.id ORDER BY {var}.id LIMIT $cap", {"cap": cap})
    return Offenders(int(total[0][0]) if total else 0, tuple(str(r[0]) for r in ids))


async def _mentions(graph: Any) -> tuple[int, int, int]:
    rows = await graph.query(_MENTIONS_PER_CHUNK)
    if not rows or rows[0][0] is None:
        return 0, 0, 0
    return tuple(int(v or 0) for v in rows[0])  # type: ignore[return-value]


async def _documents_and_chunks(graph: Any, cap: int) -> tuple[Offenders, Offenders, dict[str, int]]:
    """Documents no chunk names, and chunks whose document node is missing: per-document
    chunk counts (one row per document, returned too) against the documents' ids, page by
    page."""
    per_doc = {str(d): int(n) for d, n in await _query(graph, _CHUNKS_PER_DOC)}
    documents: set[str] = set()
    async for page in id_pages(lambda after: document_ids(graph, after, PAGE)):
        documents.update(page)
    lonely = sorted(documents - per_doc.keys())
    missing = sorted(per_doc.keys() - documents)
    chunk_ids = await _query(graph, _CHUNKS_OF_DOCS, docs=missing, cap=cap) if missing else []
    return (
        Offenders(len(lonely), tuple(lonely[:cap])),
        Offenders(sum(per_doc[d] for d in missing), tuple(str(r[0]) for r in chunk_ids)),
        per_doc,
    )


async def document_ids(graph: Any, after: str, limit: int) -> list[str]:
    rows = await graph.query(
        "MATCH (n:Node) WHERE n.type = 'Document' AND n.id > $after RETURN n.id ORDER BY n.id LIMIT $limit",
        {"after": after, "limit": limit},
    )
    return [str(r[0]) for r in rows]


async def entity_keys(graph: Any, after: str, limit: int) -> list[tuple[str, str]]:
    rows = await _query(
        graph,
        f"MATCH (n:Node) WHERE n.type = 'Entity' AND n.id > $after RETURN n.id, {_KEY_TAIL} "
        "ORDER BY n.id LIMIT $limit",
        after=after,
        limit=limit,
    )
    return [(str(i), _unescape(_string(tail))) for i, tail in rows]


def _string(tail: Any) -> str:
    found = _STRING.match(str(tail or ""))
    return found.group(1) if found else ""


def _index(tail: Any) -> int:
    found = _DIGITS.match(str(tail or ""))
    return int(found.group()) if found else -1


def _unescape(raw: str) -> str:
    """A JSON string's content as written in the blob (``\\u00e9`` → ``é``)."""
    if "\\" not in raw:  # nothing escaped (most keys): no decoding
        return raw
    import json

    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


async def id_pages(fetch: Callable[[str], Any]) -> Any:
    """Pages from a keyset-paged query until one comes back empty."""
    after = ""
    while True:
        page = await fetch(after)
        if not page:
            return
        yield page
        last = page[-1]
        after = last[0] if isinstance(last, tuple) else last


async def degrees(graph: Any, hubs: int = 10) -> Degrees:
    """The degree histogram and the hubs, aggregated one range of node offsets at a time:
    Ladybug builds an aggregation in its buffer pool, and over every entity of a 1M-node
    graph at once it needed more than 512 MB."""
    histogram: dict[int, int] = {}
    top: list[tuple[int, str, str]] = []  # (-degree, id, name), the first ``hubs``
    async for bounds in _ranges(graph):
        for d, n in await graph.query(_DEGREE + "RETURN degree, count(*)", bounds):
            histogram[int(d)] = histogram.get(int(d), 0) + int(n)
        rows = await graph.query(
            _DEGREE + "RETURN e.id, e.name, degree ORDER BY degree DESC, e.id LIMIT $n", {**bounds, "n": hubs}
        )
        top = sorted(top + [(-int(d), str(i), str(name)) for i, name, d in rows])[:hubs]
    return degrees_of(histogram, tuple((i, name, -d) for d, i, name in top))


_FOREIGN: dict[str, tuple[str, Callable[[str, str], str]]] = {  # type → (field read, id derived)
    "Document": (_HASH_TAIL, lambda dataset, value: document_id(dataset, value)),
    "Entity": (_KEY_TAIL, lambda dataset, value: entity_id(dataset, _unescape(value))),
}


async def foreign_ids(graph: Any, dataset: str, cap: int) -> Offenders:
    """Documents, entities and chunks whose id is not the one this dataset derives from
    their content (another dataset's node, or one written by something else)."""
    bad: list[str] = []
    total = 0
    for kind, (field, derive) in _FOREIGN.items():
        async for page in scan(graph, kind, field):
            lost = [row[0] for row in page if row[0] != derive(dataset, _string(row[1]))]
            total, bad = total + len(lost), sorted(bad + lost)[:cap]
    async for page in scan(graph, "Chunk", _DOC_TAIL, _INDEX_TAIL):
        lost = [row[0] for row in page if row[0] != chunk_id(_string(row[1]), _index(row[2]))]
        total, bad = total + len(lost), sorted(bad + lost)[:cap]
    return Offenders(total, tuple(bad))


async def scan(graph: Any, kind: str, *fields: str) -> AsyncIterator[list[tuple[str, ...]]]:
    """Every node of ``kind`` as (id, *fields), one range of node offsets at a time."""
    async for bounds in _ranges(graph):
        rows = await graph.query(_RANGE + ", ".join(fields), {**bounds, "kind": kind})
        if rows:
            yield [tuple(str(v or "") for v in row) for row in rows]


async def _ranges(graph: Any) -> AsyncIterator[dict[str, int]]:
    """``low``/``high`` bounds of node offsets covering the graph, ``SPAN`` at a time."""
    top = await graph.query("MATCH (n:Node) RETURN max(offset(id(n)))")
    last = -1 if not top or top[0][0] is None else int(top[0][0])
    for low in range(0, last + 1, SPAN):
        yield {"low": low, "high": low + SPAN}


async def _dimensions(table: Any) -> int | None:
    kind = (await table.schema()).field("vector").type
    return int(kind.list_size) if hasattr(kind, "list_size") else None


async def vectors_without_chunk(graph: Any, table: Any, cap: int) -> Offenders:
    """Vector rows whose id names no chunk node: the id column read in record batches,
    each looked up in the graph by primary key."""
    if table is None:
        return Offenders()
    stray: list[str] = []
    total = 0
    async for batch in await table.query().select(["id"]).to_batches(max_batch_length=PAGE):
        ids = [str(i) for i in batch.column("id").to_pylist()]
        known = {str(r[0]) for r in await graph.query(_CHUNKS_BY_ID, {"ids": ids})}
        lost = [i for i in ids if i not in known]
        total += len(lost)
        stray.extend(lost)
        stray = sorted(stray)[:cap]
    return Offenders(total, tuple(stray))


async def _chunks_without_vector(graph: Any, table: Any, expected: int, cap: int) -> Offenders:
    """Chunks with no vector row. Rows are unique by id (written by ``merge_insert``), so
    when the counts agree none is missing and nothing is scanned; otherwise the chunk ids
    are paged and each page looked up in the vector table."""
    if expected <= 0:
        return Offenders()
    missing: list[str] = []
    total = 0
    async for page in id_pages(lambda after: _chunk_page(graph, after)):
        present: set[str] = set()
        if table is not None:
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in page)
            rows = await table.query().where(f"id IN ({quoted})").select(["id"]).to_list()
            present = {str(r["id"]) for r in rows}
        lost = [i for i in page if i not in present]
        total += len(lost)
        missing = (missing + lost)[:cap]
    return Offenders(total, tuple(missing))


async def _chunk_page(graph: Any, after: str) -> list[str]:
    rows = await graph.query(_CHUNK_IDS_PAGE, {"after": after, "limit": PAGE})
    return [str(r[0]) for r in rows]
