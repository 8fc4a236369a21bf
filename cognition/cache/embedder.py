"""``CachedEmbedder``: a paid embedder behind the cache, seen through the same port.

Every text is looked up first; the inner embedder gets the misses only (each distinct text
once, a batch of its ``max_batch`` at a time), the answer keeps the input order, and each
batch is written back as soon as it is paid for. Documents and queries are cached apart
(different task types make different vectors). A stored vector of the wrong size, or not
finite, is a miss and is overwritten. The store is reached from a worker thread: a write
another process holds must not stall the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np

from cognition.cache.port import Kind, ResultCache, Scope, digest
from cognition.embedding.port import Embedder, Purpose, Vectors

# Bump when what is stored for a model changes meaning (how vectors are normalised, say).
EMBEDDING_VERSION = "1"


def encode_vector(vector: Vectors) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def decode_vector(value: bytes, dimensions: int) -> Vectors | None:
    """The vector stored in ``value``, or None when it is not one of ``dimensions`` finite floats."""
    if len(value) != dimensions * 4:
        return None
    vector = np.frombuffer(value, dtype="<f4").astype(np.float32)
    return vector if bool(np.isfinite(vector).all()) else None


class CachedEmbedder:
    """Implements ``cognition.embedding.port.Embedder`` around ``inner``, transparently."""

    def __init__(self, inner: Embedder, cache: ResultCache) -> None:
        self.inner = inner
        self.cache = cache
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    @property
    def max_batch(self) -> int:
        return self.inner.max_batch

    def scope(self, purpose: Purpose) -> Scope:
        kind: Kind = "embedding:query" if purpose == "query" else "embedding:document"
        return Scope(self.model_id, kind, EMBEDDING_VERSION)

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        scope = self.scope(purpose)
        keys = [digest(text) for text in texts]
        stored = await asyncio.to_thread(self.cache.get_many, scope, keys)
        known = {
            key: vector
            for key, value in stored.items()
            if (vector := decode_vector(value, self.dimensions)) is not None
        }
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        self.hits += sum(1 for key in keys if key not in missing)
        self.misses += len(missing)
        if missing:
            known.update(await self._embed_missing(scope, missing, purpose, progress))
        elif progress is not None:
            progress(1.0)
        rows = [known[key] for key in keys]
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, self.dimensions), np.float32)

    async def _embed_missing(
        self,
        scope: Scope,
        missing: dict[str, str],
        purpose: Purpose,
        progress: Callable[[float], None] | None,
    ) -> dict[str, Vectors]:
        """Vectors of the missing texts, by key, one inner batch at a time, each written back
        as soon as it is paid for: a process killed mid-call loses one batch, not the call."""
        keys, texts = list(missing), list(missing.values())
        step = max(1, self.inner.max_batch)
        made: dict[str, Vectors] = {}
        for start in range(0, len(texts), step):
            fresh = await self.inner.embed(texts[start : start + step], purpose)
            part = dict(zip(keys[start : start + step], fresh, strict=True))
            await asyncio.to_thread(
                self.cache.put_many, scope, {k: encode_vector(v) for k, v in part.items()}
            )
            made.update(part)
            if progress is not None:
                progress(min(1.0, (start + step) / len(texts)))
        return made

    def close(self) -> None:
        self.inner.close()
        self.cache.close()

    async def aclose(self) -> None:
        """Close a remote inner embedder's sessions (its own ``aclose``), if it has any."""
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()
