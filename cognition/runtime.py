"""The composition root: one ``Runtime`` per process, built from ``Settings``, closed once.

The CLI, a worker's startup and the API's lifespan all build it the same way. It owns the
ledger, the write gate, the extractor, and, created on first use (a no-op re-import never
pays for them), the embedder, the store and the searcher. A long-lived process keeps them:
datasets are resolved once, the searcher keeps each dataset's graph until it changes, and
nothing starts cognee per call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cognition.embedding.port import Embedder, Vectors
from cognition.errors import ConfigurationError, EmbeddingMismatch
from cognition.extract.local import LocalExtractor
from cognition.extract.port import GraphExtractor
from cognition.extract.query import QueryKeys
from cognition.gate import FileGate, WriteGate
from cognition.ledger import Ledger, open_ledger
from cognition.paths import DataPaths
from cognition.search import Searcher
from cognition.settings import Settings
from cognition.store.port import Store


def make_embedder(settings: Settings, paths: DataPaths) -> Embedder:
    if settings.embedding.provider == "local":
        from cognition.embedding.local import LocalEmbedder

        return LocalEmbedder(settings.embedding, paths.models)
    if settings.embedding.provider == "gemini":
        from cognition.embedding.gemini import GeminiEmbedder, api_key
        from cognition.governor.factory import open_governor

        gemini = settings.gemini
        governor = open_governor(
            settings,
            gemini.embedding_model,
            gemini.embedding_quota,
            api_key(gemini),
            query_share=gemini.query_share,
        )
        embedder = GeminiEmbedder(gemini, governor)
        if not gemini.cache:
            return embedder
        from cognition.cache import CachedEmbedder, SqliteCache

        return CachedEmbedder(embedder, SqliteCache(paths.cache))
    raise ConfigurationError(f"unknown embedding provider {settings.embedding.provider!r}")


def make_extractor(settings: Settings) -> GraphExtractor:
    extraction = settings.extraction
    if extraction.extractor == "local":
        return LocalExtractor(extraction.max_entities_per_chunk, extraction.min_entity_chars)
    if extraction.extractor == "gemini":
        from cognition.extract.gemini import GeminiExtractor, api_key
        from cognition.governor.factory import open_governor

        gemini = settings.gemini
        governor = open_governor(settings, gemini.extraction_model, gemini.extraction_quota, api_key(gemini))
        return GeminiExtractor(
            gemini, governor, extraction.max_entities_per_chunk, extraction.min_entity_chars
        )
    raise ConfigurationError(f"unknown extractor {extraction.extractor!r}")


def with_result_cache(extractor: GraphExtractor, settings: Settings, paths: DataPaths) -> GraphExtractor:
    """A paid extractor behind the result cache, keyed by its prompt version (its
    ``prompt_version``, or its module's ``PROMPT_VERSION``). The local extractor is faster
    than a lookup and stays bare; so does one without a version: a cache that cannot tell
    two prompts apart would serve the old prompt's answers."""
    if extractor.name == "local" or settings.extraction.extractor == "local" or not settings.gemini.cache:
        return extractor
    module = importlib.import_module(type(extractor).__module__)
    version = getattr(extractor, "prompt_version", None) or getattr(module, "PROMPT_VERSION", None)
    if version is None:
        return extractor
    from cognition.cache import CachedExtractor, SqliteCache

    return CachedExtractor(extractor, SqliteCache(paths.cache), str(version))


def make_store(settings: Settings, embedder: Callable[[], Embedder]) -> Store:
    """The graph backend ``store.graph`` names. Neo4j takes its vectors as written (the
    embedder runs before the store), so it loads no model of its own."""
    if settings.store.graph == "neo4j":
        from cognition.store.neo4j import Neo4jStore

        return Neo4jStore(settings)
    from cognition.store.cognee import CogneeStore

    return CogneeStore(settings, embedder())


@dataclass
class Runtime:
    settings: Settings
    paths: DataPaths
    ledger: Ledger
    gate: WriteGate
    extractor: GraphExtractor
    _embedder: Embedder | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _searcher: Searcher | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, gate: WriteGate | None = None) -> Runtime:
        """``gate`` admits one writer per dataset; by default the data directory's file locks
        (workers put a Redis lease lock in front of them)."""
        paths = DataPaths.of(settings)
        return cls(
            settings=settings,
            paths=paths,
            ledger=open_ledger(settings),
            gate=gate or FileGate(paths.locks),
            extractor=with_result_cache(make_extractor(settings), settings, paths),
        )

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings, self.paths)
        return self._embedder

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = make_store(self.settings, lambda: self.embedder)
        return self._store

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            embedder = self.embedder

            async def embed_query(texts: Sequence[str]) -> Vectors:
                return await embedder.embed(texts, "query")

            self._searcher = Searcher(
                self.settings.search,
                self.store,
                embed_query,
                QueryKeys(),
                self.ledger.dataset_version,
                self.check_embedding,
            )
        return self._searcher

    def check_embedding(self, dataset: str) -> None:
        """Refuse a dataset whose vectors another embedding model made."""
        record = self.ledger.dataset(dataset)
        if record is None or record.embedding_model is None:
            return
        embedder = self.embedder
        if (record.embedding_model, record.embedding_dimensions) != (embedder.model_id, embedder.dimensions):
            raise EmbeddingMismatch(
                dataset,
                record.embedding_model,
                record.embedding_dimensions or 0,
                embedder.model_id,
                embedder.dimensions,
            )

    def claim_embedding(self, dataset: str) -> None:
        """Before a dataset's first write: record this process's model, or refuse if the
        dataset was built with another."""
        self.check_embedding(dataset)
        record = self.ledger.dataset(dataset)
        if record is not None and record.embedding_model is None:
            self.ledger.set_embedding(dataset, self.embedder.model_id, self.embedder.dimensions)

    def forget_dataset(self, name: str) -> None:
        """Drop what this process keeps of a deleted dataset (its cached graph)."""
        if self._searcher is not None:
            self._searcher.forget(name)

    async def start(self) -> None:
        """Load the model and the store now (a worker, before its first job)."""
        await self.store.start()

    async def close(self) -> None:
        aclose_extractor = getattr(self.extractor, "aclose", None)  # a remote provider's sessions
        if aclose_extractor is not None:
            await aclose_extractor()
        if self._store is not None:
            await self._store.close()
            self._store = None
        if self._embedder is not None:
            self._embedder.close()
            aclose = getattr(self._embedder, "aclose", None)  # a remote provider's sessions
            if aclose is not None:
                await aclose()
            self._embedder = None
        self._searcher = None
