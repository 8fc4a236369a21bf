"""A cache of paid results: a remote model's embeddings and extractions, keyed by the
sha256 of the chunk text, the model, the kind of result and a version, so a resumed,
repeated or killed import never pays twice for the same chunk.

``port`` is the store's protocol (SQLite in the data directory today, another backend for
many hosts later); ``embedder`` and ``extractor`` wrap the existing ports transparently.
"""

from cognition.cache.embedder import EMBEDDING_VERSION, CachedEmbedder
from cognition.cache.extractor import CachedExtractor
from cognition.cache.port import Kind, ResultCache, Scope, digest
from cognition.cache.sqlite import SqliteCache

__all__ = [
    "EMBEDDING_VERSION",
    "CachedEmbedder",
    "CachedExtractor",
    "Kind",
    "ResultCache",
    "Scope",
    "SqliteCache",
    "digest",
]
