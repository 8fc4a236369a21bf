"""Writing nodes and edges fast: Ladybug's ``COPY ... FROM`` a Parquet file.

cognee's ``add_nodes`` MERGEs nodes row by row (about 130 µs a node here, plus a checkpoint
per call) and ``add_edges`` MERGEs edge by edge (0.6 ms an edge): for a 200-page book, more
than embedding it. ``COPY`` writes the same rows many times faster. Rows here are created,
never merged:

- a document's chunks, sections and pages are new (a partly written document is deleted
  before it is redone), and its node is created by its first write;
- an entity is created by the first write that mentions it (``existing_ids`` tells which are
  in the graph already; the write gate keeps anyone else from adding them meanwhile);
- every edge carries the id of the document that wrote it, and relation weights are summed
  across documents when the graph is read.

Node rows hold exactly what ``add_nodes`` would store (id, name, type, the rest of the data
point as JSON). Other graph engines (Neo4j in production) go through ``add_nodes`` and
``add_edges``. Imported only after :func:`cognition.store.cognee.env.prepare_cognee`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Edge = tuple[str, str, str, dict[str, Any]]

_EXISTING = "UNWIND $ids AS i MATCH (n:Node {id: i}) RETURN n.id"  # primary-key lookups, not a scan


async def existing_ids(engine: Any, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are nodes of the current dataset's graph already."""
    if not ids:
        return set()
    return {str(row[0]) for row in await engine.query(_EXISTING, {"ids": list(ids)})}


async def write_nodes(engine: Any, nodes: Sequence[Any], tmp_dir: Path) -> None:
    """Create ``nodes`` (cognee data points not yet in the graph) in the current dataset."""
    if not nodes:
        return
    if not _is_ladybug(engine):
        await engine.add_nodes(list(nodes))
        return
    columns = await _columns(engine, "Node")
    await _copy(engine, "Node", lambda: _node_rows(nodes), columns, tmp_dir)


async def write_edges(engine: Any, edges: list[Edge], tmp_dir: Path) -> None:
    """Create ``edges`` (whose endpoints exist) in the graph engine of the current dataset."""
    if not edges:
        return
    if not _is_ladybug(engine):
        await engine.add_edges(edges)
        return
    columns = [("from", "STRING"), ("to", "STRING"), *await _columns(engine, "EDGE")]
    await _copy(engine, "EDGE", lambda: _edge_rows(edges), columns, tmp_dir)


def _node_rows(nodes: Sequence[Any]) -> dict[str, list[Any]]:
    """As ``add_nodes`` stores them: id, name and type in columns, the rest as JSON."""
    from cognee.infrastructure.databases.graph.ladybug.adapter import PROVENANCE_COLUMNS
    from cognee.modules.storage.utils import JSONEncoder

    rows: dict[str, list[Any]] = {"id": [], "name": [], "type": [], "properties": []}
    for node in nodes:
        properties = node.model_dump()
        for key in ("id", "name", "type"):
            rows[key].append(str(properties.pop(key, "")))
        for key in PROVENANCE_COLUMNS:
            properties.pop(key, None)
        rows["properties"].append(json.dumps(properties, cls=JSONEncoder))
    return rows


def _edge_rows(edges: list[Edge]) -> dict[str, list[Any]]:
    dumped: dict[int, str] = {}  # the edges of one batch share a few property dicts

    def as_json(value: dict[str, Any]) -> str:
        if id(value) not in dumped:
            dumped[id(value)] = json.dumps(value)
        return dumped[id(value)]

    return {
        "from": [e[0] for e in edges],
        "to": [e[1] for e in edges],
        "relationship_name": [e[2] for e in edges],
        "properties": [as_json(e[3]) for e in edges],
    }


def _is_ladybug(engine: Any) -> bool:
    return bool(engine.__class__.__name__ == "LadybugAdapter")


async def _columns(engine: Any, table: str) -> list[tuple[str, str]]:
    rows = await engine.query(f"CALL table_info('{table}') RETURN *")
    return [(str(row[1]), str(row[2])) for row in sorted(rows, key=lambda r: int(r[0]))]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _column(name: str, kind: str, rows: dict[str, list[Any]], count: int, now: datetime, pa: Any) -> Any:
    """One Parquet column in the table's order: given values, ``now`` for timestamps, else null."""
    if name in rows:
        return pa.array(rows[name], pa.string())
    if kind == "TIMESTAMP":
        return pa.array([now] * count, pa.timestamp("us"))
    return pa.nulls(count, pa.string())


def _write_parquet(
    path: Path, make_rows: Callable[[], dict[str, list[Any]]], columns: list[tuple[str, str]]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, now = make_rows(), _now()
    count = len(next(iter(rows.values())))
    pq.write_table(
        pa.table({name: _column(name, kind, rows, count, now, pa) for name, kind in columns}), path
    )


async def _copy(
    engine: Any,
    table: str,
    make_rows: Callable[[], dict[str, list[Any]]],
    columns: list[tuple[str, str]],
    tmp_dir: Path,
) -> None:
    """Rows made and written to Parquet off the event loop, then copied into ``table``."""
    path = tmp_dir / f"{table.lower()}-{uuid.uuid4().hex}.parquet"
    try:
        await asyncio.to_thread(_write_parquet, path, make_rows, columns)
        await engine.query(f"COPY {table} FROM '{path.as_posix()}'")
    finally:
        path.unlink(missing_ok=True)
