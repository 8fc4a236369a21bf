"""The store port on cognee: one cognee dataset per Cognition dataset.

Writes run as a cognee custom pipeline (``cognee.run_custom_pipeline(tasks, dataset=…,
user=…)``), so they land in the dataset's own graph and vector files and take cognee's
per-dataset lock. Reads enter the same dataset's database context explicitly; a read never
touches any other dataset's files.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import io
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from cognition.gate import FileGate
from cognition.graphrank import EntityGraph
from cognition.settings import Settings
from cognition.store import reads
from cognition.store.cognee_env import EMBEDDING_MODEL_NAME, cognee_root, prepare_cognee
from cognition.store.port import DatasetStats, DocumentBatch, StoredChunk


class CogneeStore:
    """Implements ``cognition.store.port.Store`` with cognee's embedded stores."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._user: Any = None
        self._datasets: dict[str, Any] = {}
        self._start_lock = asyncio.Lock()
        self._setup_gate = FileGate(cognee_root(settings) / "locks")  # cognee's tables and datasets

    async def _start(self) -> None:
        async with self._start_lock:
            if self._user is not None:
                return
            # Importing cognee takes seconds of CPU: in a thread, so the event loop (and an
            # import preparing documents meanwhile) keeps going.
            await asyncio.to_thread(self._load)
            from cognee.modules.engine.operations.setup import setup
            from cognee.modules.users.methods import get_default_user

            # Two processes starting on a fresh data directory would both create cognee's
            # tables ("table ... already exists"): one sets up at a time.
            async with self._setup_gate.hold("setup"):
                with contextlib.redirect_stdout(io.StringIO()):  # cognee's migrations print to stdout
                    await setup()
            self._user = await get_default_user()

    def _load(self) -> None:
        prepare_cognee(self._settings)
        with _long_lived_imports():
            import cognee  # noqa: F401  (configures logging; must follow prepare_cognee)

            for module in _WRITE_MODULES:  # otherwise imported by the first write (lancedb: ~2 s)
                importlib.import_module(module)
        from cognition.embedding.engine import install_in_cognee, shared_embedder

        install_in_cognee(shared_embedder(self._settings), EMBEDDING_MODEL_NAME)

    async def start(self) -> None:
        await self._start()

    async def ensure_dataset(self, name: str) -> None:
        await self._start()
        if name in self._datasets:
            return
        from cognee.modules.data.methods import create_authorized_dataset

        # One creator at a time, here and in other processes: cognee resolves a race on the
        # dataset row, but its permission rows and SQLite writes can still collide.
        async with self._setup_gate.hold("setup"):
            if name not in self._datasets:
                self._datasets[name] = await create_authorized_dataset(name, self._user)

    async def _dataset(self, name: str) -> Any:
        await self._start()
        if name not in self._datasets:
            from cognee.modules.data.methods.get_authorized_dataset_by_name import (
                get_authorized_dataset_by_name,
            )

            found = await get_authorized_dataset_by_name(name, self._user, "read")
            if found is None:
                return None
            self._datasets[name] = found
        return self._datasets[name]

    async def dataset_exists(self, name: str) -> bool:
        return await self._dataset(name) is not None

    async def list_datasets(self) -> list[str]:
        await self._start()
        from cognee.modules.data.methods.get_authorized_existing_datasets import (
            get_authorized_existing_datasets,
        )

        found = await get_authorized_existing_datasets([], "read", self._user)
        return sorted(d.name for d in found)

    @asynccontextmanager
    async def _context(self, name: str) -> AsyncIterator[tuple[Any, Any]]:
        """The dataset's graph and vector engines (and nobody else's)."""
        dataset = await self._dataset(name)  # starts cognee (prepares its environment) first
        from cognee.context_global_variables import set_database_global_context_variables
        from cognee.infrastructure.databases.graph import get_graph_engine
        from cognee.infrastructure.databases.vector import get_vector_engine_async

        if dataset is None:
            from cognition.errors import DatasetNotFoundError

            raise DatasetNotFoundError(name)
        async with set_database_global_context_variables(dataset.id, self._user.id):
            yield await get_graph_engine(), await get_vector_engine_async()

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        await self.ensure_dataset(dataset)  # starts cognee (prepares its environment) first
        import cognee
        from cognee.modules.pipelines.tasks.task import Task

        from cognition.store.writes import pull_batches, store_batches

        tmp = cognee_root(self._settings) / "tmp"
        source = _BatchSource(dataset, groups)
        result = await cognee.run_custom_pipeline(
            tasks=[
                Task(pull_batches, needs_llm=False),
                Task(store_batches, tmp_dir=tmp, needs_llm=False, task_config={"batch_size": 1}),
            ],
            data=[source],
            dataset=self._datasets[dataset].id,
            user=self._user,
            pipeline_name="cognition_import",
            data_per_batch=1,
            skip_connection_test=True,
        )
        if source.error is not None:
            raise source.error
        _raise_on_failure(result)

    async def delete_document(self, dataset: str, document_id: str) -> None:
        if await self._dataset(dataset) is None:
            return
        from cognee.infrastructure.locks import dataset_lock

        async with dataset_lock(self._datasets[dataset].id), self._context(dataset) as (graph, vectors):
            await reads.delete_document(graph, vectors, document_id)

    async def search_chunks(self, dataset: str, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        from cognition.store.schema import CHUNK_COLLECTION

        async with self._context(dataset) as (_, vectors):
            return await reads.vector_search(vectors, CHUNK_COLLECTION, vector, k)

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        async with self._context(dataset) as (graph, _):
            return await reads.chunks_by_id(graph, dataset, ids)

    async def load_graph(self, dataset: str) -> EntityGraph:
        async with self._context(dataset) as (graph, _):
            return await reads.entity_graph(graph)

    async def stats(self, dataset: str) -> DatasetStats:
        async with self._context(dataset) as (graph, vectors):
            return await reads.stats(graph, vectors)

    async def prepare(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> None:
        from cognition.embedding.engine import shared_embedder

        await shared_embedder(self._settings).prefetch_async(texts, progress)

    def forget(self, texts: Sequence[str]) -> None:
        from cognition.embedding.engine import shared_embedder

        shared_embedder(self._settings).forget(texts)

    async def release(self, dataset: str) -> None:
        """Close this process's handles on ``dataset``'s graph and vector files.

        Ladybug holds an exclusive file lock while a database is open, and cognee caches
        open engines: without this, the first process to write a dataset would keep every
        other process (another worker) from writing it until it exits.
        """
        found = self._datasets.get(dataset)
        if found is None:
            return
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
            await self.release(name)
        self._datasets.clear()


_WRITE_MODULES = (
    "lancedb",
    "cognee.infrastructure.databases.vector.lancedb.LanceDBAdapter",
    "cognition.store.writes",
)


@contextlib.contextmanager
def _long_lived_imports() -> Iterator[None]:
    """Import cognee and the stores' modules with the cyclic collector paused, then freeze
    what they made.

    They leave about 750k objects that live as long as the process: collecting while they
    are created cost about 2 s of CPU, and every full collection afterwards walked them all
    again (0.2 s each, a dozen times for three books). Frozen, the collector skips them.
    Only the first time in a process: later calls import nothing.
    """
    if "cognee" in sys.modules:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _raise_on_failure(result: Any) -> None:
    infos = list(result.values()) if isinstance(result, dict) else [result]
    for info in infos:
        if type(info).__name__ == "PipelineRunErrored":
            from cognition.errors import CognitionError

            raise CognitionError(f"storing a batch failed: {getattr(info, 'payload', info)}")


class _BatchSource:
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
