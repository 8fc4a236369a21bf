"""The store port on Neo4j 5 (Community or better), or any server speaking Bolt and Cypher.

Datasets share one database (Community has no ``CREATE DATABASE``): every node and edge
carries its dataset, and every query is built by :mod:`cognition.store.neo4j.cypher`,
which binds it to one dataset. Vectors stay in LanceDB, one directory per dataset
(:mod:`cognition.store.neo4j.vectors`).

Datasets are registered here, as a ``Dataset`` node in the graph, not as cognee dataset
rows: a cognee dataset is a set of per-dataset database files (its graph and vector
contexts) that this adapter does not use, and its rows live in cognee's relational store,
apart from the graph: a crash between the two would leave a dataset that exists in one and
not the other, on another host than the one that wrote it. In Neo4j the registration is
visible to every worker host and is deleted with the dataset's last node. cognee stays the
Ladybug adapter's engine (datasets and pipelines there); this adapter needs neither.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from cognition.errors import ConfigurationError, DatasetNotFoundError
from cognition.paths import DataPaths
from cognition.settings import Settings
from cognition.store.neo4j import audit, reads, repairs
from cognition.store.neo4j.cypher import listing, run, scoped
from cognition.store.neo4j.schema import ensure_schema
from cognition.store.neo4j.vectors import DatasetVectors
from cognition.store.neo4j.writes import write_group
from cognition.store.port import (
    AuditFacts,
    ChunkNode,
    Counts,
    DatasetStats,
    DocumentBatch,
    DocumentNode,
    EntityInfo,
    GraphData,
    Merge,
    Neighbour,
    ScoredChunk,
    StoredChunk,
)

T = TypeVar("T")
DELETE_BATCH = 10_000  # nodes per transaction when a dataset is deleted

_ENSURE = scoped("MERGE (d:Dataset) RETURN d.dataset")
_EXISTS = scoped("MATCH (d:Dataset) RETURN count(d)")
_LIST = listing("MATCH (d:Dataset) RETURN d.dataset ORDER BY d.dataset")
_DELETE_SOME = scoped("MATCH (n:Node) WITH n LIMIT $batch DETACH DELETE n RETURN count(*)")
_UNREGISTER = scoped("MATCH (d:Dataset) DELETE d")
_DOC_CHUNKS = scoped("MATCH (n:Node {document_id: $doc, type: 'Chunk'}) RETURN n.id")
_DOC_EDGES = scoped("MATCH (:Node)-[r:EDGE {document_id: $doc}]->(:Node) DELETE r")
_DOC_NODES = scoped("MATCH (n:Node) WHERE n.id = $doc OR n.document_id = $doc DETACH DELETE n")


class Neo4jStore:
    """Implements ``cognition.store.port.Store`` on a Neo4j database (official async driver)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._driver: Any = None
        self._start_lock = asyncio.Lock()
        self._vectors: dict[str, DatasetVectors] = {}
        self._root = DataPaths.of(settings).root / "vectors"

    async def start(self) -> None:
        async with self._start_lock:  # one driver, however many first calls run at once
            if self._driver is None:
                await self._connect()

    async def _connect(self) -> None:
        from neo4j import AsyncGraphDatabase
        from neo4j.exceptions import AuthError

        store = self._settings.store
        password = store.neo4j_password.get_secret_value() if store.neo4j_password else ""
        # The components audit reads ``id(n)`` (dense integers; elementId strings would cost
        # ten times the memory): Neo4j 5 deprecates it, and would say so on every audit.
        driver = AsyncGraphDatabase.driver(
            store.neo4j_url,
            auth=(store.neo4j_user, password),
            notifications_disabled_classifications=["DEPRECATION"],
        )
        try:
            async with driver.session(database=store.neo4j_database) as session:
                await ensure_schema(session)
        except AuthError:
            await driver.close()
            raise ConfigurationError(
                f"the graph server at {store.neo4j_url} refused user {store.neo4j_user!r}: "
                "check COGNITION_STORE__NEO4J_USER and COGNITION_STORE__NEO4J_PASSWORD"
            ) from None
        except BaseException:
            await driver.close()
            raise
        self._driver = driver

    async def _session(self) -> Any:
        if self._driver is None:
            await self.start()
        return self._driver.session(database=self._settings.store.neo4j_database)

    async def _read(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async with await self._session() as session:
            result: T = await session.execute_read(work)
            return result

    async def _write(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async with await self._session() as session:
            result: T = await session.execute_write(work)
            return result

    def _space(self, name: str) -> DatasetVectors:
        if name not in self._vectors:
            self._vectors[name] = DatasetVectors(name, self._root / name)
        return self._vectors[name]

    async def ensure_dataset(self, name: str) -> None:
        await self._write(lambda tx: run(tx, _ENSURE, name))
        self._space(name)

    async def dataset_exists(self, name: str) -> bool:
        rows = await self._read(lambda tx: run(tx, _EXISTS, name))
        return bool(rows and int(rows[0][0]))

    async def _required(self, name: str) -> DatasetVectors:
        if name not in self._vectors and not await self.dataset_exists(name):
            raise DatasetNotFoundError(name)
        return self._space(name)

    async def list_datasets(self) -> list[str]:
        async with await self._session() as session:
            result = await session.run(_LIST.text)
            return [str(record[0]) async for record in result]

    async def delete_dataset(self, name: str) -> None:
        """Nodes in bounded transactions, then the vectors, then the registration last: an
        interrupted delete leaves a dataset that still exists, and is deleted again."""
        if not await self.dataset_exists(name):
            self._vectors.pop(name, None)
            return
        while (await self._write(lambda tx: run(tx, _DELETE_SOME, name, batch=DELETE_BATCH)))[0][0]:
            pass
        space = self._vectors.pop(name, None) or DatasetVectors(name, self._root / name)
        await space.drop()
        await self._write(lambda tx: run(tx, _UNREGISTER, name))
        self._vectors.pop(name, None)

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        await self.ensure_dataset(dataset)
        space = self._space(dataset)
        async for group in groups:
            await self._write(lambda tx, group=group: write_group(tx, dataset, group))  # type: ignore[misc]
            for batch in group:
                if batch.vectors is not None and batch.chunks:
                    await space.write([(c, batch.document) for c in batch.chunks], batch.vectors)

    async def delete_document(self, dataset: str, document_id: str) -> None:
        """Vectors, then edges and nodes (one transaction), then orphaned entities."""
        if not await self.dataset_exists(dataset):
            return
        space = self._space(dataset)
        chunks = await self._read(lambda tx: run(tx, _DOC_CHUNKS, dataset, doc=document_id))
        await space.delete([str(r[0]) for r in chunks])

        async def remove(tx: Any) -> None:
            await run(tx, _DOC_EDGES, dataset, doc=document_id)
            await run(tx, _DOC_NODES, dataset, doc=document_id)
            await repairs.delete_orphans(tx, dataset)

        await self._write(remove)

    async def search_chunks(self, dataset: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        found, bare = await (await self._required(dataset)).reader.search(vector, k)
        if bare:  # every row here is written with its payload; a bare one is read from the graph
            scores = dict(bare)
            found += [ScoredChunk(c, scores[c.id]) for c in await self._graph_chunks(dataset, list(scores))]
            found.sort(key=lambda s: -s.score)
        return found

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        found, missing = await (await self._required(dataset)).reader.get(ids)
        if missing:
            found += await self._graph_chunks(dataset, missing)
        order = {cid: i for i, cid in enumerate(ids)}
        return sorted(found, key=lambda c: order.get(c.id, len(order)))

    async def _graph_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        return await self._read(lambda tx: reads.chunks_by_id(tx, dataset, ids))

    async def _reading(self, dataset: str, work: Callable[[Any], Awaitable[T]]) -> T:
        await self._required(dataset)
        return await self._read(work)

    async def graph(self, dataset: str) -> GraphData:
        return await self._reading(dataset, lambda tx: reads.graph_data(tx, dataset))

    async def find_entities(self, dataset: str, keys: Sequence[str], limit: int) -> list[EntityInfo]:
        found = await self._reading(dataset, lambda tx: reads.entities_by_key(tx, dataset, keys))
        return found[:limit]

    async def get_entities(self, dataset: str, ids: Sequence[str]) -> list[EntityInfo]:
        return await self._reading(dataset, lambda tx: reads.entities(tx, dataset, ids))

    async def neighbours(self, dataset: str, entity_id: str, limit: int) -> list[Neighbour]:
        return await self._reading(dataset, lambda tx: reads.neighbours(tx, dataset, entity_id, limit))

    async def chunks_mentioning(self, dataset: str, entity_id: str, limit: int) -> list[StoredChunk]:
        return await self._reading(dataset, lambda tx: reads.chunks_mentioning(tx, dataset, entity_id, limit))

    async def counts(self, dataset: str) -> Counts:
        rows = await (await self._required(dataset)).reader.count()
        return await self._read(lambda tx: reads.counts(tx, dataset, rows))

    async def stats(self, dataset: str) -> DatasetStats:
        found = await self.counts(dataset)
        return DatasetStats(
            nodes=sum(found.nodes.values()),
            edges=sum(found.edges.values()),
            documents=found.nodes.get("Document", 0),
            chunks=found.nodes.get("Chunk", 0),
            entities=found.nodes.get("Entity", 0),
            chunk_vectors=sum(found.vectors.values()),
            entity_vectors=0,  # entity names are not embedded (see the Ladybug path's points.py)
        )

    async def audit_facts(self, dataset: str, cap: int) -> AuditFacts:
        space = await self._required(dataset)
        return await audit.audit_facts(self._read, dataset, space, cap)

    async def document_ids(self, dataset: str, after: str, limit: int) -> list[str]:
        return await self._reading(dataset, lambda tx: audit.document_ids(tx, dataset, after, limit))

    async def entity_keys(self, dataset: str, after: str, limit: int) -> list[tuple[str, str]]:
        return await self._reading(dataset, lambda tx: audit.entity_keys(tx, dataset, after, limit))

    async def delete_orphan_entities(self, dataset: str, ids: Sequence[str]) -> list[str]:
        await self._required(dataset)
        return await self._write(lambda tx: repairs.delete_orphans_among(tx, dataset, ids))

    async def delete_stray_vectors(self, dataset: str, ids: Sequence[str]) -> list[str]:
        space = await self._required(dataset)
        chunks = {c.id for c in await self._graph_chunks(dataset, list(dict.fromkeys(ids)))}
        stray = sorted(await space.present(sorted(set(ids) - chunks)))
        await space.delete(stray)
        return stray

    async def restore_vectors(
        self, dataset: str, ids: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> list[str]:
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} chunks but {len(vectors)} vectors")
        space = await self._required(dataset)
        unique = list(dict.fromkeys(ids))
        found = {c.id: c for c in await self._graph_chunks(dataset, unique)}
        index = await self._read(lambda tx: reads.chunk_indexes(tx, dataset, unique))
        keep = [i for i, cid in enumerate(ids) if cid in found]
        await space.write([_records(found[ids[i]], index[ids[i]]) for i in keep], vectors[keep])
        return [ids[i] for i in keep]

    async def merge_entities(self, dataset: str, keep: str, drop: str) -> Merge:
        await self._required(dataset)
        return await self._write(lambda tx: repairs.merge(tx, dataset, keep, drop))

    async def close(self) -> None:
        self._vectors.clear()
        if self._driver is not None:
            await self._driver.close()
            self._driver = None


def _records(chunk: StoredChunk, index: int) -> tuple[ChunkNode, DocumentNode]:
    """The records a vector row's payload is made of, from a chunk read back."""
    doc = DocumentNode(chunk.document_id, chunk.document_title, chunk.source, "", "", 0)
    node = ChunkNode(
        id=chunk.id,
        document_id=chunk.document_id,
        index=index,
        text=chunk.text,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        section_id=None,
        section_path=chunk.section_path,
        page_label_start=chunk.page_label_start,
        page_label_end=chunk.page_label_end,
    )
    return node, doc
