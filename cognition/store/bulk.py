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
``add_edges``. Imported only after :func:`cognition.store.cognee_env.prepare_cognee`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
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
    import pyarrow as pa
    from cognee.infrastructure.databases.graph.ladybug.adapter import PROVENANCE_COLUMNS
    from cognee.modules.storage.utils import JSONEncoder

    rows: dict[str, list[Any]] = {"id": [], "name": [], "type": [], "properties": []}
    for node in nodes:
        properties = node.model_dump()  # as add_nodes does: the core columns, the rest as JSON
        for key, column in rows.items():
            if key != "properties":
                column.append(str(properties.pop(key, "")))
        for key in PROVENANCE_COLUMNS:
            properties.pop(key, None)
        rows["properties"].append(json.dumps(properties, cls=JSONEncoder))
    count, now = len(rows["id"]), _now()
    data = {name: _column(name, kind, rows, count, now, pa) for name, kind in await _columns(engine, "Node")}
    await _copy(engine, "Node", pa.table(data), tmp_dir)


async def write_edges(engine: Any, edges: list[Edge], tmp_dir: Path) -> None:
    """Create ``edges`` (whose endpoints exist) in the graph engine of the current dataset."""
    if not edges:
        return
    if not _is_ladybug(engine):
        await engine.add_edges(edges)
        return
    import pyarrow as pa

    dumped: dict[int, str] = {}  # the edges of one batch share a few property dicts

    def as_json(value: dict[str, Any]) -> str:
        if id(value) not in dumped:
            dumped[id(value)] = json.dumps(value)
        return dumped[id(value)]

    rows: dict[str, list[Any]] = {
        "relationship_name": [e[2] for e in edges],
        "properties": [as_json(e[3]) for e in edges],
    }
    data: dict[str, Any] = {
        "from": pa.array([e[0] for e in edges], pa.string()),
        "to": pa.array([e[1] for e in edges], pa.string()),
    }
    now = _now()
    for name, kind in await _columns(engine, "EDGE"):
        data[name] = _column(name, kind, rows, len(edges), now, pa)
    await _copy(engine, "EDGE", pa.table(data), tmp_dir)


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


async def _copy(engine: Any, table: str, data: Any, tmp_dir: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_dir / f"{table.lower()}-{uuid.uuid4().hex}.parquet"
    try:
        pq.write_table(data, path)
        await engine.query(f"COPY {table} FROM '{path.as_posix()}'")
    finally:
        path.unlink(missing_ok=True)
