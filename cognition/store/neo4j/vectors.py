"""Chunk vectors of a Neo4j-backed dataset: LanceDB, one directory per dataset.

Neo4j Community's vector index serves one database for every dataset and ArcadeDB's Bolt
path has none, so the vectors stay where the Ladybug path keeps them: a LanceDB table per
dataset, in the same row shape (id, vector, provenance payload), written and read by the
same code (:mod:`cognition.store.cognee.vectors`, which imports no cognee). A dataset's
directory is ``<data_dir>/vectors/<dataset>/`` (names are ``[a-z0-9_-]``): deleting a
dataset removes it whole. Several hosts share it on a common volume.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cognition.store.cognee.schema import CHUNK_COLLECTION
from cognition.store.cognee.vectors import VectorReader, write_chunk_vectors
from cognition.store.port import ChunkNode, DocumentNode


class DatasetVectors:
    """One dataset's chunk table: reads through a kept-open :class:`VectorReader`, writes
    and deletes through a connection of their own."""

    def __init__(self, dataset: str, directory: Path) -> None:
        self.directory = directory
        self.reader = VectorReader(dataset, str(directory))

    async def _connection(self) -> Any:
        import lancedb

        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        return await lancedb.connect_async(str(self.directory), read_consistency_interval=timedelta(0))

    async def write(
        self, chunks: Sequence[tuple[ChunkNode, DocumentNode]], vectors: npt.NDArray[np.float32]
    ) -> None:
        if chunks:
            await write_chunk_vectors(await self._connection(), chunks, vectors)

    async def present(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` have a row."""
        table = await self.reader.table()
        if table is None or not ids:
            return set()
        rows = await table.query().where(_in(ids)).select(["id"]).to_list()
        return {str(r["id"]) for r in rows}

    async def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        connection = await self._connection()
        if CHUNK_COLLECTION not in await connection.table_names():
            return
        table = await connection.open_table(CHUNK_COLLECTION)
        await table.delete(_in(ids))

    async def drop(self) -> None:
        """The dataset's whole directory."""
        await asyncio.to_thread(shutil.rmtree, self.directory, True)


def _in(ids: Sequence[str]) -> str:
    quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    return f"id IN ({quoted})"
