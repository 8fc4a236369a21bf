"""The store port on cognee: one cognee dataset per Cognition dataset.

Writes run as a cognee custom pipeline (``cognee.run_custom_pipeline(tasks, dataset=…,
user=…)``), so they land in the dataset's own graph and vector files and take cognee's
per-dataset lock. Reads enter the same dataset's database context explicitly; a read never
touches any other dataset's files.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognition import logs
from cognition.embedding.port import Embedder
from cognition.gate import FileGate
from cognition.paths import DataPaths
from cognition.settings import Settings
from cognition.store.cognee import audit, probes, reads, repairs
from cognition.store.cognee.env import WRITE_MODULES, cognee_root, long_lived_imports, prepare_cognee
from cognition.store.cognee.relational import ensure_database, setup_lock
from cognition.store.cognee.relocate import relocate_vector_paths
from cognition.store.cognee.vectors import VectorReader
from cognition.store.port import (
    AuditFacts,
    Counts,
    DatasetStats,
    DocumentBatch,
    EntityInfo,
    GraphData,
    Merge,
    Neighbour,
    Probe,
    ScoredChunk,
    StoredChunk,
)


@dataclass
class _Space:
    """A dataset as this process resolved it once: cognee's row and its vector files."""

    dataset: Any
    vectors: VectorReader


class CogneeStore:
    """Implements ``cognition.store.port.Store`` with cognee's embedded stores.

    A dataset is resolved once per process (cognee's dataset row, the path of its vector
    files) and kept; ``delete_dataset`` drops it. Ladybug admits one process per
    database file: writes close this process's handles when they end, and graph reads take
    the dataset's file lock shared, waiting (at most ``search.busy_wait_seconds``) for a
    write in progress, then close the handles when the last reader leaves.
    """

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._settings = settings
        self._embedder = embedder
        self._user: Any = None
        self._datasets: dict[str, _Space] = {}
        self._start_lock = asyncio.Lock()
        self._setup_gate = FileGate(cognee_root(settings) / "locks")  # cognee's tables and datasets
        self._files = FileGate(DataPaths.of(settings).locks)  # the datasets' write gate, taken shared
        self._readers: dict[str, int] = {}

    async def _start(self) -> None:
        async with self._start_lock:
            if self._user is not None:
                return
            # Importing cognee takes seconds of CPU: in a thread, so the event loop (and an
            # import preparing documents meanwhile) keeps going.
            await asyncio.to_thread(self._load)
            from cognee.base_config import get_base_config
            from cognee.modules.engine.operations.setup import setup
            from cognee.modules.users.methods import get_default_user

            # Two processes starting on a fresh data directory would both create cognee's
            # tables ("table ... already exists"): one sets up at a time.
            # The default user is created by its first lookup: under the same lock, or two
            # fresh processes both insert it ("UNIQUE constraint failed: users.email").
            async with self._setup_gate.hold("setup"), setup_lock(self._settings):
                with contextlib.redirect_stdout(io.StringIO()):  # cognee's migrations print to stdout
                    await setup()
                await relocate_vector_paths(get_base_config().system_root_directory)  # a moved data dir
                self._user = await get_default_user()

    def _load(self) -> None:
        ensure_database(self._settings)  # cognee's own database on Postgres, when derived
        prepare_cognee(self._settings, self._embedder.model_id, self._embedder.dimensions)
        with long_lived_imports():
            import cognee  # noqa: F401  (configures logging; must follow prepare_cognee)

            for module in WRITE_MODULES:  # otherwise imported by the first write (lancedb: ~2 s)
                importlib.import_module(module)
        logs.reapply()  # cognee's import replaced the root logger's handlers (for libraries' lines)
        from cognition.store.cognee.embedding import install

        install(self._embedder)

    async def start(self) -> None:
        await self._start()

    def probes(self) -> dict[str, Probe]:
        """Ladybug's and LanceDB's folder, and cognee's tables (see ``probes``)."""

        async def started() -> Path:  # started already when /readyz asks (see api.readiness)
            await self._start()
            return cognee_root(self._settings) / "system" / "databases"

        async def folder() -> None:
            await probes.writable(await started())

        async def tables() -> None:
            await started()
            await probes.relational()

        return {"graph": folder, "vectors": folder, "cognee_db": tables}

    async def ensure_dataset(self, name: str) -> None:
        await self._start()
        if name in self._datasets:
            return
        from cognee.modules.data.methods import create_authorized_dataset

        # One creator at a time, here and in other processes: cognee resolves a race on the
        # dataset row, but its permission rows and SQLite writes can still collide.
        async with self._setup_gate.hold("setup"), setup_lock(self._settings):
            if name not in self._datasets:
                await self._resolve(name, await create_authorized_dataset(name, self._user))

    async def _space(self, name: str) -> _Space | None:
        await self._start()
        if name not in self._datasets:
            from cognee.modules.data.methods.get_authorized_dataset_by_name import (
                get_authorized_dataset_by_name,
            )

            found = await get_authorized_dataset_by_name(name, self._user, "read")
            if found is None:
                return None
            await self._resolve(name, found)
        return self._datasets[name]

    async def _resolve(self, name: str, dataset: Any) -> None:
        from cognee.context_global_variables import set_database_global_context_variables
        from cognee.infrastructure.databases.vector.config import get_vectordb_context_config

        async with set_database_global_context_variables(dataset.id, self._user.id):
            url = str(get_vectordb_context_config()["vector_db_url"])
        self._datasets[name] = _Space(dataset, VectorReader(name, url))

    async def _required(self, name: str) -> _Space:
        space = await self._space(name)
        if space is None:
            from cognition.errors import DatasetNotFoundError

            raise DatasetNotFoundError(name)
        return space

    async def dataset_exists(self, name: str) -> bool:
        return await self._space(name) is not None

    async def list_datasets(self) -> list[str]:
        await self._start()
        from cognee.modules.data.methods.get_authorized_existing_datasets import (
            get_authorized_existing_datasets,
        )

        found = await get_authorized_existing_datasets([], "read", self._user)
        return sorted(d.name for d in found)

    async def delete_dataset(self, name: str) -> None:
        """Drop the dataset's files and cognee's rows of it, and forget it here. The caller
        holds the dataset's write gate (so no read or write of it runs meanwhile)."""
        space = await self._space(name)
        if space is None:
            return
        from cognee.infrastructure.locks import dataset_lock

        from cognition.store.cognee.drop import drop_dataset

        await self._release(name)
        # Forgotten with its vector reader's open table, before and after (a vector search
        # meanwhile takes no gate and may resolve it again): the next ensure_dataset starts
        # anew, and nothing here reads the removed files.
        del self._datasets[name]
        try:
            async with dataset_lock(space.dataset.id), self._setup_gate.hold("setup"):
                await drop_dataset(space.dataset)
        finally:
            self._datasets.pop(name, None)

    @asynccontextmanager
    async def _context(self, name: str) -> AsyncIterator[tuple[Any, Any]]:
        """The dataset's graph and vector engines (and nobody else's)."""
        space = await self._required(name)  # starts cognee (prepares its environment) first
        from cognee.context_global_variables import set_database_global_context_variables
        from cognee.infrastructure.databases.graph import get_graph_engine
        from cognee.infrastructure.databases.vector import get_vector_engine_async

        async with set_database_global_context_variables(space.dataset.id, self._user.id):
            yield await get_graph_engine(), await get_vector_engine_async()

    @asynccontextmanager
    async def _reading(self, name: str) -> AsyncIterator[Any]:
        """The dataset's graph engine for a read: no write is in progress meanwhile (the
        write gate is held shared), and the files are closed when the last reader leaves."""
        await self._required(name)
        async with self._files.hold_shared(name, self._settings.search.busy_wait_seconds):
            self._readers[name] = self._readers.get(name, 0) + 1
            try:
                async with self._context(name) as (graph, _):
                    yield graph
            finally:
                self._readers[name] -= 1
                if self._readers[name] == 0:
                    del self._readers[name]
                    await self._release(name)

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        await self.ensure_dataset(dataset)  # starts cognee (prepares its environment) first
        import cognee
        from cognee.modules.pipelines.tasks.task import Task

        from cognition.store.cognee.writes import BatchSource, pull_batches, raise_on_failure, store_batches

        tmp = cognee_root(self._settings) / "tmp"
        source = BatchSource(dataset, groups)
        result = await cognee.run_custom_pipeline(
            tasks=[
                Task(pull_batches, needs_llm=False),
                Task(store_batches, tmp_dir=tmp, needs_llm=False, task_config={"batch_size": 1}),
            ],
            data=[source],
            dataset=self._datasets[dataset].dataset.id,
            user=self._user,
            pipeline_name="cognition_import",
            data_per_batch=1,
            skip_connection_test=True,
        )
        try:
            if source.error is not None:
                raise source.error
            raise_on_failure(result)
        finally:
            await self._release(dataset)

    async def delete_document(self, dataset: str, document_id: str) -> None:
        space = await self._space(dataset)
        if space is None:
            return
        from cognee.infrastructure.locks import dataset_lock

        try:
            async with dataset_lock(space.dataset.id), self._context(dataset) as (graph, vectors):
                await reads.delete_document(graph, vectors, document_id)
        finally:
            await self._release(dataset)

    async def search_chunks(self, dataset: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        space = await self._required(dataset)
        found, bare = await space.vectors.search(vector, k)
        if bare:  # rows written before payloads carried provenance
            scores = dict(bare)
            found += [ScoredChunk(c, scores[c.id]) for c in await self._graph_chunks(dataset, list(scores))]
            found.sort(key=lambda s: -s.score)
        return found

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        space = await self._required(dataset)
        found, missing = await space.vectors.get(ids)
        if missing:
            found += await self._graph_chunks(dataset, missing)
        order = {cid: i for i, cid in enumerate(ids)}
        return sorted(found, key=lambda c: order.get(c.id, len(order)))

    async def _graph_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        async with self._reading(dataset) as graph:
            return await reads.chunks_by_id(graph, dataset, ids)

    async def graph(self, dataset: str) -> GraphData:
        async with self._reading(dataset) as graph:
            return await reads.graph_data(graph)

    async def find_entities(self, dataset: str, keys: Sequence[str], limit: int) -> list[EntityInfo]:
        async with self._reading(dataset) as graph:
            return (await reads.entities_by_key(graph, dataset, keys))[:limit]

    async def get_entities(self, dataset: str, ids: Sequence[str]) -> list[EntityInfo]:
        async with self._reading(dataset) as graph:
            return await reads.entities(graph, ids)

    async def neighbours(self, dataset: str, entity_id: str, limit: int) -> list[Neighbour]:
        async with self._reading(dataset) as graph:
            return await reads.neighbours(graph, entity_id, limit)

    async def chunks_mentioning(self, dataset: str, entity_id: str, limit: int) -> list[StoredChunk]:
        async with self._reading(dataset) as graph:
            return await reads.chunks_mentioning(graph, dataset, entity_id, limit)

    async def counts(self, dataset: str) -> Counts:
        space = await self._required(dataset)
        rows = await space.vectors.count()
        async with self._reading(dataset) as graph:
            return await reads.counts(graph, rows)

    async def stats(self, dataset: str) -> DatasetStats:
        async with self._reading(dataset) as graph:
            from cognee.infrastructure.databases.vector import get_vector_engine_async

            return await reads.stats(graph, await get_vector_engine_async())

    async def audit_facts(self, dataset: str, cap: int) -> AuditFacts:
        vectors = (await self._required(dataset)).vectors
        async with self._reading(dataset) as graph:
            return await audit.audit_facts(graph, await vectors.table(), dataset, cap, vectors.url)

    async def document_ids(self, dataset: str, after: str, limit: int) -> list[str]:
        async with self._reading(dataset) as graph:
            return await audit.document_ids(graph, after, limit)

    async def entity_keys(self, dataset: str, after: str, limit: int) -> list[tuple[str, str]]:
        async with self._reading(dataset) as graph:
            return await audit.entity_keys(graph, after, limit)

    @asynccontextmanager
    async def _repairing(self, name: str) -> AsyncIterator[tuple[Any, Any]]:
        """Engines for a repair, as a delete takes them (cognee's dataset lock), closed after."""
        from cognee.infrastructure.locks import dataset_lock

        space = await self._required(name)
        try:
            async with dataset_lock(space.dataset.id), self._context(name) as engines:
                yield engines
        finally:
            await self._release(name)

    async def delete_orphan_entities(self, dataset: str, ids: Sequence[str]) -> list[str]:
        async with self._repairing(dataset) as (graph, vectors):
            return await repairs.delete_orphans(graph, vectors, ids)

    async def delete_stray_vectors(self, dataset: str, ids: Sequence[str]) -> list[str]:
        async with self._repairing(dataset) as (graph, vectors):
            return await repairs.delete_stray_vectors(graph, vectors, ids)

    async def restore_vectors(self, dataset: str, ids: Sequence[str], vectors: Any) -> list[str]:
        async with self._repairing(dataset) as (graph, engine):
            return await repairs.restore_vectors(graph, engine, ids, vectors)

    async def merge_entities(self, dataset: str, keep: str, drop: str) -> Merge:
        async with self._repairing(dataset) as (graph, vectors):
            return await repairs.merge(graph, vectors, keep, drop, cognee_root(self._settings) / "tmp")

    async def _release(self, dataset: str) -> None:
        """Close this process's handles on ``dataset``'s graph and vector files.

        Ladybug holds an exclusive file lock while a database is open, and cognee caches
        open engines: without this, the first process to write a dataset would keep every
        other process (another worker) from writing it until it exits.
        """
        space = self._datasets.get(dataset)
        if space is None:
            return
        found = space.dataset
        from cognee.context_global_variables import set_database_global_context_variables
        from cognee.infrastructure.databases.graph.config import get_graph_context_config
        from cognee.infrastructure.databases.graph.get_graph_engine import graph_engine_cache
        from cognee.infrastructure.databases.vector.config import get_vectordb_context_config
        from cognee.infrastructure.databases.vector.create_vector_engine import vector_engine_cache

        async with set_database_global_context_variables(found.id, self._user.id):
            graph, vectors = get_graph_context_config(), get_vectordb_context_config()
        # Closed now, even if a handle still pins the engine (it re-resolves on next use): a
        # deferred close would leave a second engine on the same files in this process.
        graph_engine_cache.evict(force_close=True, **graph)
        vector_engine_cache.evict(force_close=True, **vectors)
        await graph_engine_cache.aevict_for_database(f"{found.id}.lbug")
        await vector_engine_cache.aevict_for_database(f"{found.id}.lance.db")

    async def close(self) -> None:
        for name in list(self._datasets):
            await self._release(name)
        self._datasets.clear()
