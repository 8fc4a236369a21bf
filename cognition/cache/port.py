"""The cache's port: opaque values by (text digest, model, kind, version).

The store knows nothing of vectors or graphs: the wrappers encode and decode, and a value
they cannot decode is a miss they overwrite. A store that fails (a locked or damaged file)
answers misses and drops writes rather than failing the import: the cache only saves money.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["embedding:document", "embedding:query", "extraction"]


def digest(text: str) -> str:
    """The key of a chunk text: its sha256, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Scope:
    """Everything but the text that decides a result: who made it, what it is, how."""

    model: str
    kind: Kind
    version: str


class ResultCache(Protocol):
    def get_many(self, scope: Scope, digests: Sequence[str]) -> dict[str, bytes]:
        """The stored values of those of ``digests`` that have one."""
        ...

    def put_many(self, scope: Scope, values: Mapping[str, bytes]) -> None:
        """Store (or replace) values by digest."""
        ...

    def close(self) -> None: ...
