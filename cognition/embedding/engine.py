"""The process-wide local embedder, and its face towards cognee.

cognee has no registration hook for embedding engines; :func:`install_in_cognee` replaces
``create_embedding_engine`` in cognee's factory module (every consumer reaches the engine
through ``get_embedding_engine()``, which looks that name up at call time).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cognition.embedding.minilm import MiniLMEmbedder, find_packaged_model_dir
from cognition.settings import Settings

F32 = npt.NDArray[np.float32]


class LocalEmbedder:
    """all-MiniLM-L6-v2 behind a lock: one forward pass at a time uses every core."""

    def __init__(self, settings: Settings) -> None:
        cfg = settings.embedding
        self._model = MiniLMEmbedder(
            find_packaged_model_dir(),
            runtime=cfg.runtime,
            cache_dir=settings.resolved_data_dir / "models",
            max_tokens=cfg.max_tokens,
            batch_size=cfg.batch_size,
            threads=cfg.threads,
        )
        self._lock = threading.Lock()  # the model: one forward pass at a time
        self._ready_lock = threading.Lock()
        self._ready: dict[str, npt.NDArray[np.float32]] = {}  # vectors computed ahead, used once
        self._computing: Counter[str] = Counter()  # texts prefetch is computing now
        self._dropped: set[str] = set()  # ... that were forgotten meanwhile: not to be kept
        self.texts_embedded = 0

    @property
    def dimensions(self) -> int:
        return self._model.dimensions

    def embed(self, texts: Sequence[str]) -> F32:
        """Vectors of ``texts``; those computed ahead by :meth:`prefetch` are taken, not redone."""
        with self._ready_lock:
            ready = [self._ready.pop(t, None) for t in texts] if self._ready else [None] * len(texts)
        missing = [t for t, v in zip(texts, ready, strict=True) if v is None]
        if len(missing) == len(texts):
            return self._embed(texts)
        computed = iter(self._embed(missing)) if missing else iter(())
        rows = [v if v is not None else next(computed) for v in ready]
        return np.stack(rows).astype(np.float32, copy=False)

    def prefetch(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> None:
        """Compute vectors now, outside any write lock, for a write that will ask for them.

        Each vector is handed out once (then forgotten), so memory holds only what the
        prepared documents are about to write. ``progress`` hears the share of ``texts``
        done (0 to 1) after each forward pass, from this thread.
        """
        with self._ready_lock:
            unique = [t for t in dict.fromkeys(texts) if t not in self._ready]
            self._computing.update(unique)
        vectors: F32 = np.zeros((0, self.dimensions), dtype=np.float32)
        try:
            if unique:
                step = None if progress is None else (lambda done: progress(done / len(unique)))
                vectors = self._embed(unique, step)
        finally:
            with self._ready_lock:
                self._computing.subtract(unique)
                for text, vector in zip(unique, vectors, strict=False):  # none if the model failed
                    if text not in self._dropped:
                        self._ready[text] = vector
                self._dropped.difference_update(t for t in unique if self._computing[t] <= 0)
                self._computing = +self._computing  # without the texts no prefetch computes
        if progress is not None:
            progress(1.0)

    def forget(self, texts: Sequence[str]) -> None:
        """Drop vectors computed ahead for a write that will not happen, including those a
        prefetch is computing now (an import cancelled while its batch was embedded)."""
        with self._ready_lock:
            for text in texts:
                self._ready.pop(text, None)
                if text in self._computing:
                    self._dropped.add(text)

    def _embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> F32:
        with self._lock:
            self.texts_embedded += len(texts)
            return self._model.embed(texts, progress)

    async def embed_async(self, texts: Sequence[str]) -> F32:
        return await asyncio.to_thread(self.embed, texts)

    async def prefetch_async(
        self, texts: Sequence[str], progress: Callable[[float], None] | None = None
    ) -> None:
        await asyncio.to_thread(self.prefetch, texts, progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._model.count_tokens(texts)


class CogneeEmbeddingEngine:
    """cognee's ``EmbeddingEngine`` protocol over :class:`LocalEmbedder`.

    It reports a large batch size so cognee hands over whole batches; the model sorts them
    by length and runs its own smaller batches (same vectors, much less padding).
    """

    def __init__(self, embedder: LocalEmbedder, model_name: str) -> None:
        self._embedder = embedder
        self.model = model_name
        self.dimensions = embedder.dimensions
        self.batch_size = 4096
        self.max_completion_tokens = 256

    async def embed_text(self, text: list[str]) -> Any:
        from cognee.infrastructure.databases.vector.embeddings.EmbeddingEngine import EmbeddingResult

        vectors = await self._embedder.embed_async(text)
        return EmbeddingResult(vectors.tolist(), tokens=sum(len(t.split()) for t in text))

    def get_vector_size(self) -> int:
        return self.dimensions

    def get_batch_size(self) -> int:
        return self.batch_size

    async def input_limit(self) -> int | None:
        return self.max_completion_tokens


_SHARED: dict[str, LocalEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(settings: Settings) -> LocalEmbedder:
    """One embedder per process and configuration (loading the model is the expensive part)."""
    key = f"{settings.resolved_data_dir}|{settings.embedding.model_dump_json()}"
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = LocalEmbedder(settings)
        return _SHARED[key]


def install_in_cognee(embedder: LocalEmbedder, model_name: str) -> None:
    """Make cognee use the local embedder. Call before cognee builds its first vector engine."""
    module = importlib.import_module("cognee.infrastructure.databases.vector.embeddings.get_embedding_engine")
    engine = CogneeEmbeddingEngine(embedder, model_name)
    module.create_embedding_engine = lambda *args, **kwargs: engine  # type: ignore[attr-defined]
