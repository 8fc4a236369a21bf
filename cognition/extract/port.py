"""The extractor port: chunk texts in, entities and relations per chunk out.

The local extractor (no model) and the Gemini extractor implement the same protocol, so the
pipeline does not know which one runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

EntityKind = Literal["name", "term", "code"]


@dataclass(frozen=True)
class EntityMention:
    """An entity found in a chunk. ``key`` is the normalized identity shared across chunks.

    A model-backed extractor also says what the entity is (``category``, e.g. "person", and a
    one-line ``description``); the local one leaves both empty, and the store keeps neither yet.
    """

    key: str
    name: str
    kind: EntityKind
    category: str = ""
    description: str = ""


@dataclass(frozen=True)
class Relation:
    """A directed relation between two entities of one chunk."""

    source: str  # entity key
    target: str  # entity key
    name: str  # "co_occurs_with" or a verb such as "uses"
    weight: float = 1.0


@dataclass
class ChunkGraph:
    """Everything extracted from one chunk."""

    entities: list[EntityMention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)


class GraphExtractor(Protocol):
    """Turns chunk texts into per-chunk graphs, one result per input, in order."""

    name: str

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]: ...
