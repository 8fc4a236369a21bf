"""Chunk vector rows in a real LanceDB directory: printed page labels are written and read
back, and a table created before rows carried labels still reads (its rows have none)."""

from __future__ import annotations

from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from cognition.store.cognee.schema import CHUNK_COLLECTION
from cognition.store.cognee.vectors import VectorReader, write_chunk_vectors
from cognition.store.port import ChunkNode, DocumentNode

DOC = DocumentNode(
    "00000000-0000-0000-0000-000000000001", "The Linux Command Line", "/b/tlcl.pdf", "h", "pdf", 555
)
CHUNK = ChunkNode(
    "00000000-0000-0000-0000-000000000002",
    DOC.id,
    0,
    "Redirecting standard error",
    81,
    82,
    None,
    ("6",),
    page_label_start="57",
    page_label_end="58",
)
VECTOR = np.eye(1, 4, dtype=np.float32)

OLD_PAYLOAD = pa.struct(  # the payload rows had before labels
    [
        ("text", pa.string()),
        ("document_id", pa.string()),
        ("document_title", pa.string()),
        ("source", pa.string()),
        ("section", pa.list_(pa.string())),
        ("page_start", pa.int64()),
        ("page_end", pa.int64()),
        ("chunk_index", pa.int64()),
    ]
)


async def search_one(folder: Path) -> tuple[str | None, str | None, int, int]:
    found, bare = await VectorReader("d", str(folder)).search(VECTOR[0].tolist(), 1)
    assert not bare and len(found) == 1
    chunk = found[0].chunk
    return chunk.page_label_start, chunk.page_label_end, chunk.page_start, chunk.page_end


async def test_a_new_table_stores_the_printed_page_labels(tmp_path: Path) -> None:
    await write_chunk_vectors(await lancedb.connect_async(str(tmp_path)), [(CHUNK, DOC)], VECTOR)

    assert await search_one(tmp_path) == ("57", "58", 81, 82)


async def test_a_table_from_before_labels_reads_with_none(tmp_path: Path) -> None:
    connection = await lancedb.connect_async(str(tmp_path))
    schema = pa.schema([("id", pa.string()), ("vector", pa.list_(pa.float32(), 4)), ("payload", OLD_PAYLOAD)])
    await connection.create_table(CHUNK_COLLECTION, schema=schema)

    await write_chunk_vectors(connection, [(CHUNK, DOC)], VECTOR)  # written in the table's shape

    assert await search_one(tmp_path) == (None, None, 81, 82)
