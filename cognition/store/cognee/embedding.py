"""cognee's face of the project's ``Embedder``.

cognee builds every vector engine with an embedding engine (it asks it for the vector size).
Chunks reach the store with their vectors, so cognee never needs to embed anything for
Cognition; should one of its own code paths ask, it gets the configured embedder's vectors,
computed on the spot (nothing is cached).

cognee has no registration hook for embedding engines: :func:`install` replaces
``create_embedding_engine`` in cognee's factory module (every consumer reaches the engine
through ``get_embedding_engine()``, which looks that name up at call time).
"""

from __future__ import annotations

import importlib
from typing import Any

from cognition.embedding.port import Embedder


class CogneeEmbeddingEngine:
    """cognee's ``EmbeddingEngine`` protocol over an :class:`Embedder`."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.model = embedder.model_id
        self.dimensions = embedder.dimensions
        self.batch_size = embedder.max_batch
        self.max_completion_tokens = 256

    async def embed_text(self, text: list[str]) -> Any:
        from cognee.infrastructure.databases.vector.embeddings.EmbeddingEngine import EmbeddingResult

        vectors = await self._embedder.embed(text)
        return EmbeddingResult(vectors.tolist(), tokens=sum(len(t.split()) for t in text))

    def get_vector_size(self) -> int:
        return self.dimensions

    def get_batch_size(self) -> int:
        return self.batch_size

    async def input_limit(self) -> int | None:
        return self.max_completion_tokens


def install(embedder: Embedder) -> None:
    """Make cognee use ``embedder``. Call before cognee builds its first vector engine."""
    module = importlib.import_module("cognee.infrastructure.databases.vector.embeddings.get_embedding_engine")
    engine = CogneeEmbeddingEngine(embedder)
    module.create_embedding_engine = lambda *args, **kwargs: engine  # type: ignore[attr-defined]
