"""The cognee pipeline task that stores document batches in the current dataset.

It runs inside ``cognee.run_custom_pipeline``, which has already entered the dataset's
database context, so ``get_graph_engine()`` / ``get_vector_engine_async()`` are that
dataset's stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cognition.store.cognee.env import require_prepared

require_prepared()

import numpy as np  # noqa: E402
from cognee.infrastructure.databases.graph import get_graph_engine  # noqa: E402
from cognee.infrastructure.databases.vector import get_vector_engine_async  # noqa: E402

from cognition.store.cognee.bulk import existing_ids, write_edges, write_nodes  # noqa: E402
from cognition.store.cognee.points import Page, chunk_point, document_point, entity_point, section_point  # noqa: E402
from cognition.store.cognee.schema import page_id, relation_edges, structure_edges  # noqa: E402
from cognition.store.cognee.vectors import write_chunk_vectors  # noqa: E402
from cognition.store.port import DocumentBatch  # noqa: E402


async def pull_batches(items: list[Any], ctx: Any = None) -> AsyncIterator[list[DocumentBatch]]:
    """First task: yields groups of batches as they are produced (one group = one write)."""
    del ctx
    for source in items:
        try:
            async for group in source.groups:
                yield group
        except Exception as exc:
            source.error = exc
            raise


async def store_batches(items: list[list[DocumentBatch]], tmp_dir: Path, ctx: Any = None) -> int:
    """Store each group: nodes, then edges, then the chunks' vectors."""
    del ctx
    graph = await get_graph_engine()
    vectors = await (await get_vector_engine_async()).get_connection()
    stored = 0
    for group in items:
        await _store(graph, vectors, group, tmp_dir)
        stored += sum(len(b.chunks) for b in group)
    return stored


async def _store(graph: Any, vectors: Any, group: list[DocumentBatch], tmp_dir: Path) -> None:
    known = await existing_ids(graph, _shared_ids(group))
    nodes: list[Any] = []
    chunks: list[Any] = []
    edges: list[Any] = []
    for batch in group:
        doc = batch.document
        if doc.id not in known:  # the document's first write creates its node
            nodes.append(document_point(doc))
            known.add(doc.id)
        nodes += [section_point(s, doc.id) for s in batch.sections]
        nodes += [
            Page(id=page_id(doc.id, n), name=f"page {n}", number=n, document_id=doc.id) for n in batch.pages
        ]
        chunks += [chunk_point(c, doc) for c in batch.chunks]
        edges += structure_edges(batch) + relation_edges(batch)
    entities = {e.id: e for batch in group for e in batch.entities}  # the last mention names it
    nodes += [entity_point(e) for eid, e in entities.items() if eid not in known]
    await write_nodes(graph, [*nodes, *chunks], tmp_dir)
    await write_edges(graph, edges, tmp_dir)
    await write_chunk_vectors(vectors, [(c, b.document) for b in group for c in b.chunks], _vectors_of(group))


def _vectors_of(group: list[DocumentBatch]) -> np.ndarray:
    for batch in group:
        if batch.chunks and (batch.vectors is None or len(batch.vectors) != len(batch.chunks)):
            raise ValueError(f"{batch!r}: every chunk needs its vector")
    rows = [b.vectors for b in group if b.chunks and b.vectors is not None]
    return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def _shared_ids(group: list[DocumentBatch]) -> list[str]:
    """Nodes that an earlier write may have created: documents and entities (a document's
    sections, pages and chunks are always new)."""
    ids = {b.document.id for b in group}
    ids.update(e.id for b in group for e in b.entities)
    return list(ids)


def raise_on_failure(result: Any) -> None:
    infos = list(result.values()) if isinstance(result, dict) else [result]
    for info in infos:
        if type(info).__name__ == "PipelineRunErrored":
            from cognition.errors import CognitionError

            raise CognitionError(f"storing a batch failed: {getattr(info, 'payload', info)}")


class BatchSource:
    """The one data item of a pipeline run: groups of batches, produced lazily.

    An error raised while producing (a page that cannot be read) is kept here and re-raised
    to the caller with its own type, instead of surfacing as a generic pipeline error.
    """

    def __init__(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        self.dataset = dataset
        self.groups = groups
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"BatchSource({self.dataset})"
