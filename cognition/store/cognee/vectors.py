"""Chunk vectors in LanceDB: written with the vectors the pipeline computed, read directly.

Writes go through the connection of cognee's vector engine for the dataset (inside the
pipeline's database context), as Arrow tables: no embedding call, no per-row model objects.
Each row carries the chunk's provenance in its payload, so a search needs no graph read.

Reads open the dataset's LanceDB directory directly, once per process, and check for new
versions on every read (``read_consistency_interval=0``): LanceDB readers never block
writers, in this process or another, so searches run while an import stores.

Datasets written before payloads carried provenance have cognee's index payload (id, text,
document id, chunk index); rows are written in whatever payload shape the table already
has, and :func:`chunk_from_payload` answers None for such rows (the store then reads them
from the graph). Likewise a table created before payloads carried printed page labels keeps
its shape: its rows read with no labels (the graph's chunk nodes have them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from cognition.store.cognee.schema import CHUNK_COLLECTION
from cognition.store.port import ChunkNode, DocumentNode, ScoredChunk, StoredChunk


def _payload_type(pa: Any) -> Any:
    return pa.struct(
        [
            ("text", pa.string()),
            ("document_id", pa.string()),
            ("document_title", pa.string()),
            ("source", pa.string()),
            ("section", pa.list_(pa.string())),
            ("page_start", pa.int64()),
            ("page_end", pa.int64()),
            ("chunk_index", pa.int64()),
            ("page_label_start", pa.string()),
            ("page_label_end", pa.string()),
        ]
    )


def _payloads(chunks: Sequence[tuple[ChunkNode, DocumentNode]]) -> list[dict[str, Any]]:
    return [
        {
            "text": chunk.text,
            "document_id": doc.id,
            "document_title": doc.title,
            "document_name": doc.title,
            "source": doc.source,
            "section": list(chunk.section_path),
            "page_start": chunk.page_start,
            "page_end": chunk.page_end,
            "chunk_index": chunk.index,
            "page_label_start": chunk.page_label_start,
            "page_label_end": chunk.page_label_end,
        }
        for chunk, doc in chunks
    ]


def _table(
    ids: list[str], vectors: npt.NDArray[np.float32], payloads: list[dict[str, Any]], payload_type: Any
) -> Any:
    import pyarrow as pa

    names = [payload_type.field(i).name for i in range(payload_type.num_fields)]
    shaped = [{name: row.get(name) for name in names} for row in payloads]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
            "payload": pa.array(shaped, payload_type),
        }
    )


async def write_chunk_vectors(
    connection: Any, chunks: Sequence[tuple[ChunkNode, DocumentNode]], vectors: npt.NDArray[np.float32]
) -> None:
    """Upsert the chunks' rows (id, vector, payload) into the dataset's chunk table."""
    if not chunks:
        return
    import pyarrow as pa

    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    names = await connection.table_names()
    if CHUNK_COLLECTION in names:
        table = await connection.open_table(CHUNK_COLLECTION)
        payload_type = (await table.schema()).field("payload").type
    else:
        payload_type = _payload_type(pa)
        schema = pa.schema(
            [
                ("id", pa.string()),
                ("vector", pa.list_(pa.float32(), int(vectors.shape[1]))),
                ("payload", payload_type),
            ]
        )
        table = await connection.create_table(CHUNK_COLLECTION, schema=schema, exist_ok=True)
    ids = [chunk.id for chunk, _ in chunks]
    data = await asyncio.to_thread(_table, ids, vectors, _payloads(chunks), payload_type)
    await table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)


def chunk_from_payload(dataset: str, chunk_id: str, payload: dict[str, Any] | None) -> StoredChunk | None:
    """A chunk with its provenance from a row's payload; None if the row has none."""
    if not payload or payload.get("page_start") is None:
        return None
    return StoredChunk(
        id=chunk_id,
        dataset=dataset,
        document_id=str(payload.get("document_id") or ""),
        document_title=str(payload.get("document_title") or ""),
        source=str(payload.get("source") or ""),
        section_path=tuple(payload.get("section") or ()),
        page_start=int(payload["page_start"]),
        page_end=int(payload.get("page_end") or payload["page_start"]),
        text=str(payload.get("text") or ""),
        page_label_start=payload.get("page_label_start") or None,  # absent in older tables
        page_label_end=payload.get("page_label_end") or None,
    )


class VectorReader:
    """Direct reads of one dataset's LanceDB directory (opened once, kept open)."""

    def __init__(self, dataset: str, url: str) -> None:
        self._dataset = dataset
        self.url = url  # the LanceDB directory (audits weigh it)
        self._table: Any = None
        self._lock = asyncio.Lock()

    async def _chunks(self) -> Any:
        if self._table is None:
            async with self._lock:
                if self._table is None:
                    import lancedb

                    db = await lancedb.connect_async(self.url, read_consistency_interval=timedelta(0))
                    if CHUNK_COLLECTION not in await db.table_names():
                        return None  # nothing written yet: asked again next time
                    self._table = await db.open_table(CHUNK_COLLECTION)
        return self._table

    async def search(
        self, vector: Sequence[float], k: int
    ) -> tuple[list[ScoredChunk], list[tuple[str, float]]]:
        """Nearest chunks by cosine similarity: those whose payload carries provenance, and
        (id, score) of those that do not (older rows)."""
        table = await self._chunks()
        if table is None or k <= 0:
            return [], []
        rows = await (
            table.vector_search(list(vector))
            .distance_type("cosine")
            .select(["id", "payload", "_distance"])
            .limit(k)
            .to_list()
        )
        found: list[ScoredChunk] = []
        bare: list[tuple[str, float]] = []
        for row in rows:
            score = 1.0 - float(row["_distance"])
            chunk = chunk_from_payload(self._dataset, str(row["id"]), row.get("payload"))
            if chunk is None:
                bare.append((str(row["id"]), score))
            else:
                found.append(ScoredChunk(chunk, score))
        return found, bare

    async def get(self, ids: Sequence[str]) -> tuple[list[StoredChunk], list[str]]:
        """Chunks by id: those with provenance in their payload, and the ids without."""
        table = await self._chunks()
        if table is None or not ids:
            return [], list(ids)
        quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
        rows = await table.query().where(f"id IN ({quoted})").select(["id", "payload"]).to_list()
        by_id = {
            str(r["id"]): chunk_from_payload(self._dataset, str(r["id"]), r.get("payload")) for r in rows
        }
        found = [c for c in by_id.values() if c is not None]
        missing = [i for i in ids if by_id.get(i) is None]
        return found, missing

    async def table(self) -> Any:
        """The chunk table (None before the first write), for the audits' column scans."""
        return await self._chunks()

    async def count(self) -> int:
        table = await self._chunks()
        return 0 if table is None else int(await table.count_rows())
