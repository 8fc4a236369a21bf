"""The graph's shape and wiring, computed inside Ladybug: connected components, edges of
the wrong shape, pages covered per document, and bytes on disk.

Components stream ``(offset(id(a)), offset(id(b)))`` integer pairs in pages of source
offsets into a union-find of one small integer per node slot
(:mod:`cognition.store.components`); no node id string is held for more than the offenders
listed. Every edge counts, mentions and structure included: the question is "is this
dataset one piece", and a book's chunks reach each other through their document, its
entities through the chunks that mention them. Entities of two books that share no entity
are two pieces, which is what the check is there to show.

Each page of offsets comes back as one row holding one list (``collect`` in the database),
and pages covered per document are counted over the ``on_page`` edges, not by reading the
chunks' JSON: both are aggregates, and both keep Python out of the per-row work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cognition.store.components import UnionFind, components_of, summarize
from cognition.store.port import Components, Offenders

NODE_PAGE = 100_000  # node offsets per page
EDGE_PAGE = 200_000  # edges per page, about (pages are ranges of source offsets)

# Each edge name written by the store, with the node types it may join (schema.py); any
# other name is an entity → entity relation.
SHAPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "has_section": (frozenset({"Document"}), frozenset({"Section"})),
    "has_subsection": (frozenset({"Section"}), frozenset({"Section"})),
    "has_page": (frozenset({"Document"}), frozenset({"Page"})),
    "has_chunk": (frozenset({"Document", "Section"}), frozenset({"Chunk"})),
    "on_page": (frozenset({"Chunk"}), frozenset({"Page"})),
    "mentions": (frozenset({"Chunk"}), frozenset({"Entity"})),
}
RELATION = (frozenset({"Entity"}), frozenset({"Entity"}))
_NAMES = "[" + ", ".join(f"'{n}'" for n in SHAPES) + "]"
_REL = f"CASE WHEN r.relationship_name IN {_NAMES} THEN r.relationship_name ELSE '' END"
_SHAPES = f"""
MATCH (a:Node)-[r:EDGE]->(b:Node)
WITH a.type AS s, {_REL} AS rel, b.type AS t, count(*) AS n RETURN s, rel, t, n
"""
_EDGES_OF_SHAPE = f"""
MATCH (a:Node)-[r:EDGE]->(b:Node) WHERE a.type = $s AND b.type = $t AND {_REL} = $rel
RETURN a.id, r.relationship_name, b.id ORDER BY a.id, b.id LIMIT $cap
"""
# A document's pages that some chunk is on: the on_page edges are written from each chunk's
# page_start..page_end (schema.structure_edges), so this counts the same pages as reading
# those fields, without a regular expression over every chunk's JSON blob (40x faster).
_PAGES_COVERED = """
MATCH (d:Node)-[h:EDGE]->(p:Node) WHERE h.relationship_name = 'has_page'
AND EXISTS { MATCH (:Node)-[o:EDGE]->(p) WHERE o.relationship_name = 'on_page' }
RETURN d.id, count(*)
"""


async def components(graph: Any, edges: int, cap: int) -> Components:
    """Connected components over every node and edge of the dataset (edges undirected)."""
    rows = await graph.query("MATCH (n:Node) RETURN count(*), max(offset(id(n)))")
    if not rows or not rows[0][0]:
        return Components()
    slots = int(rows[0][1]) + 1
    found = UnionFind(slots)
    for low in range(0, slots, NODE_PAGE):
        marked = await _collected(graph, _NODE_PAGE, lo=low, hi=low + NODE_PAGE)
        found.add_nodes(np.where(marked < 0, -1 - marked, marked), marked < 0)
    step = max(1, min(slots, slots * EDGE_PAGE // max(edges, 1)))
    for low in range(0, slots, step):
        pairs = await _collected(graph, _EDGE_PAGE, lo=low, hi=low + step, slots=slots)
        found.union(pairs // slots, pairs % slots)
    summary = summarize(found, cap)
    named = await graph.query(
        "MATCH (n:Node) WHERE offset(id(n)) IN $offsets RETURN n.id ORDER BY n.id",
        {"offsets": summary.outside},
    )
    return components_of(summary, tuple(str(r[0]) for r in named))


# A page is one row holding one list (collected in the database): the adapter turns rows
# into Python lists value by value, which for 200k rows costs more than the query.
_NODE_PAGE = (
    "MATCH (n:Node) WHERE offset(id(n)) >= $lo AND offset(id(n)) < $hi "
    "RETURN collect(CASE WHEN n.type = 'Entity' THEN -1 - offset(id(n)) ELSE offset(id(n)) END)"
)  # an entity's offset o as -1 - o
_EDGE_PAGE = (
    "MATCH (a:Node)-[:EDGE]->(b:Node) WHERE offset(id(a)) >= $lo AND offset(id(a)) < $hi "
    "RETURN collect(offset(id(a)) * $slots + offset(id(b)))"
)  # the pair (a, b) as a * slots + b


async def _collected(graph: Any, query: str, **params: int) -> npt.NDArray[np.int64]:
    rows = await graph.query(query, params)
    return np.array(rows[0][0] if rows and rows[0][0] else [], np.int64)


def _shape_ok(source: str, rel: str, target: str) -> bool:
    sources, targets = SHAPES.get(rel, RELATION)
    return source in sources and target in targets


async def dangling_edges(graph: Any, cap: int) -> Offenders:
    """Edges whose endpoints are not the node types their name joins (counted per shape in
    the database; the first ``cap`` of the wrong shapes listed as ``a -name-> b``)."""
    bad = [
        (str(s), str(rel), str(t), int(n))
        for s, rel, t, n in await graph.query(_SHAPES)
        if not _shape_ok(str(s), str(rel), str(t))
    ]
    listed: list[str] = []
    for s, rel, t, _ in sorted(bad):
        if len(listed) >= cap:
            break
        rows = await graph.query(_EDGES_OF_SHAPE, {"s": s, "t": t, "rel": rel, "cap": cap - len(listed)})
        listed += [f"{a} -{name}-> {b}" for a, name, b in rows]
    return Offenders(sum(n for *_, n in bad), tuple(listed))


async def pages_covered(graph: Any) -> dict[str, int]:
    """Per document: how many distinct pages its chunks cover (one grouped aggregate)."""
    return {str(d): int(n) for d, n in await graph.query(_PAGES_COVERED)}


def storage_bytes(graph_path: str | None, vector_dir: str | None) -> dict[str, int]:
    """Bytes on disk of the graph database (its file and the files beside it that share its
    name: write-ahead log, shadow pages) and of the vector directory."""
    found: dict[str, int] = {}
    if graph_path:
        path = Path(graph_path)
        found["graph"] = sum(_size(p) for p in path.parent.glob(path.name + "*"))
    if vector_dir and "://" not in vector_dir:
        found["vectors"] = _size(Path(vector_dir))
    return found


def _size(path: Path) -> int:
    """A file's size, or every file's under a directory (walked, links not followed)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except FileNotFoundError:  # removed meanwhile (a compaction)
                continue
    return total
