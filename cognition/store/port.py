"""The store port: what ingestion, search, the API and the audits need from the graph +
vector backend, in the domain's terms.

One isolated space per dataset. Writes take chunks *with their vectors* (the embedder ran
before, outside any lock), their entities, mentions and relations. Reads return plain data.
How an adapter locks its files or releases handles is its own business: the cognee adapter
(Ladybug + LanceDB, ``cognition.store.cognee``) closes its files after each write, and a read
waits, bounded, for a write in progress; a Neo4j adapter has nothing to close.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class DocumentNode:
    id: str
    title: str
    source: str
    content_hash: str
    kind: str
    pages: int
    author: str | None = None


@dataclass(frozen=True)
class SectionNode:
    id: str
    title: str
    level: int
    parent_id: str | None


@dataclass(frozen=True)
class ChunkNode:
    id: str
    document_id: str
    index: int
    text: str
    page_start: int
    page_end: int
    section_id: str | None
    section_path: tuple[str, ...]
    page_label_start: str | None = None  # the printed page number, when it is not page_start
    page_label_end: str | None = None


@dataclass(frozen=True)
class EntityNode:
    id: str
    key: str
    name: str
    kind: str


@dataclass(repr=False)
class DocumentBatch:
    """Part of one document to store: its chunks and what was extracted from them.

    The first batch of a document also carries the document, its sections and pages.
    """

    dataset: str
    document: DocumentNode
    sections: list[SectionNode] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    chunks: list[ChunkNode] = field(default_factory=list)
    entities: list[EntityNode] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)  # chunk id, entity id
    relations: list[tuple[str, str, str, float]] = field(default_factory=list)  # src, dst, name, weight
    vectors: npt.NDArray[np.float32] | None = None  # one row per chunk, in order

    def __repr__(self) -> str:  # short: cognee records str(data) of pipeline runs
        first = self.chunks[0].index if self.chunks else -1
        return f"DocumentBatch({self.dataset}/{self.document.id}, chunks from {first}, n={len(self.chunks)})"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back with its provenance."""

    id: str
    dataset: str
    document_id: str
    document_title: str
    source: str
    section_path: tuple[str, ...]
    page_start: int  # positions in the file (1-based)
    page_end: int
    text: str
    page_label_start: str | None = None  # the printed page numbers, when they are not the positions
    page_label_end: str | None = None


@dataclass(frozen=True)
class ScoredChunk:
    chunk: StoredChunk
    score: float  # cosine similarity to the query


@dataclass(frozen=True)
class GraphData:
    """A dataset's entity–chunk graph as plain arrays (what ranking needs, nothing more).

    ``mention_*`` and ``relation_*`` index into ``entity_ids`` / ``chunk_ids``; relation
    weights are summed over the documents that wrote them.
    """

    entity_ids: list[str]
    entity_keys: list[str]
    entity_names: list[str]
    chunk_ids: list[str]
    mention_chunk: npt.NDArray[np.int64]
    mention_entity: npt.NDArray[np.int64]
    relation_source: npt.NDArray[np.int64]
    relation_target: npt.NDArray[np.int64]
    relation_weight: npt.NDArray[np.float64]


@dataclass(frozen=True)
class EntityInfo:
    id: str
    key: str  # normalized as the extractor normalizes names
    name: str
    kind: str
    chunks: int  # how many chunks mention it


@dataclass(frozen=True)
class Neighbour:
    entity: EntityInfo
    relation: str
    weight: float  # summed over the documents that state it
    direction: Literal["out", "in"]


@dataclass(frozen=True)
class DatasetStats:
    nodes: int
    edges: int
    documents: int
    chunks: int
    entities: int
    chunk_vectors: int
    entity_vectors: int


@dataclass(frozen=True)
class Counts:
    """Nodes by type, edges by relation name, and vectors by collection."""

    nodes: dict[str, int]
    edges: dict[str, int]
    vectors: dict[str, int]


@dataclass(frozen=True)
class Offenders:
    """How many items fail one check, and the first of them (ids in order, at most the cap)."""

    total: int = 0
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Degrees:
    """Entity degrees (every edge, mentions included), summarized: a histogram by powers of
    two ("0", "1", "2-3", "4-7", ...), the mean and maximum, and the heaviest hubs."""

    buckets: dict[str, int]
    mean: float
    max: int
    hubs: tuple[tuple[str, str, int], ...]  # (id, name, degree), heaviest first


@dataclass(frozen=True)
class Components:
    """Connected components of the whole graph (every node, every edge, undirected):
    how many, their sizes by powers of two ("1", "2-3", ...), the largest's node count, and
    the entities outside the component that holds the most entities."""

    count: int = 0
    nodes: int = 0
    largest: int = 0  # nodes in the largest component
    entities: int = 0
    largest_entities: int = 0  # entities in the component holding the most
    buckets: dict[str, int] = field(default_factory=dict)
    outside: Offenders = Offenders()  # entity ids not in that component


@dataclass(frozen=True)
class AuditFacts:
    """What an audit needs from one dataset's stores, computed inside them (aggregates and
    bounded pages, never the whole graph or every vector in memory)."""

    counts: Counts
    vector_dimensions: int | None  # of the chunk vectors as stored (None: no vector yet)
    orphan_entities: Offenders  # entities no chunk mentions
    documents_without_chunks: Offenders
    chunks_without_document: Offenders  # their document node is missing
    chunks_without_vector: Offenders
    vectors_without_chunk: Offenders
    foreign_ids: Offenders  # nodes whose id is not the one this dataset derives for them
    degrees: Degrees
    mentions: int  # chunk → entity mentions
    chunks_without_entity: int
    components: Components = Components()
    dangling_edges: Offenders = Offenders()  # edges joining node types their name does not join
    # Per document with chunks: (its chunks, the distinct pages they cover).
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    storage: dict[str, int] = field(default_factory=dict)  # bytes on disk: "graph", "vectors"


@dataclass(frozen=True)
class Merge:
    """What merging one entity into another did: edges re-pointed to the kept entity, edges
    folded into one it had already (weights summed), and edges between the two, dropped."""

    kept: str
    dropped: str
    merged: bool  # False: one of the two is not an entity (any more); nothing changed
    moved: int = 0
    combined: int = 0
    dropped_edges: int = 0


class Store(Protocol):
    """Graph + vector storage, one isolated space per dataset."""

    async def start(self) -> None:
        """Load engines now (otherwise the first call does it)."""
        ...

    async def ensure_dataset(self, name: str) -> None: ...

    async def dataset_exists(self, name: str) -> bool: ...

    async def list_datasets(self) -> list[str]: ...

    async def delete_dataset(self, name: str) -> None:
        """Everything of the dataset goes (graph, vectors, the backend's own records of it),
        and nothing of any other; afterwards ``dataset_exists(name)`` is False and
        ``ensure_dataset(name)`` makes a new, empty one. A dataset that does not exist is a
        no-op. The caller holds the dataset's write gate."""
        ...

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        """Store groups of batches (chunks with their vectors) as they come; each group is
        one write. The caller holds the dataset's write gate."""
        ...

    async def delete_document(self, dataset: str, document_id: str) -> None:
        """Its nodes, edges and vectors go; entities that other documents mention stay."""
        ...

    async def search_chunks(self, dataset: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        """The ``k`` chunks nearest to ``vector`` (cosine), best first, with provenance."""
        ...

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]: ...

    async def graph(self, dataset: str) -> GraphData: ...

    async def find_entities(self, dataset: str, keys: Sequence[str], limit: int) -> list[EntityInfo]:
        """Entities whose normalized key is one of ``keys``."""
        ...

    async def get_entities(self, dataset: str, ids: Sequence[str]) -> list[EntityInfo]:
        """Entities by id, in the order asked; ids that name no entity of this dataset
        (unknown, another dataset's, a chunk's) are skipped."""
        ...

    async def neighbours(self, dataset: str, entity_id: str, limit: int) -> list[Neighbour]:
        """Entities related to ``entity_id``, heaviest relations first."""
        ...

    async def chunks_mentioning(self, dataset: str, entity_id: str, limit: int) -> list[StoredChunk]: ...

    async def counts(self, dataset: str) -> Counts: ...

    async def stats(self, dataset: str) -> DatasetStats: ...

    async def audit_facts(self, dataset: str, cap: int) -> AuditFacts:
        """The dataset's audit facts; offender lists hold at most ``cap`` ids each."""
        ...

    async def document_ids(self, dataset: str, after: str, limit: int) -> list[str]:
        """A page of the dataset's document ids, in order, after ``after`` ("" first)."""
        ...

    async def entity_keys(self, dataset: str, after: str, limit: int) -> list[tuple[str, str]]:
        """A page of (entity id, normalized key), in id order, after ``after`` ("" first)."""
        ...

    # Repairs: each re-checks its defect first, so a stale plan never deletes what has since
    # become valid. The caller holds the dataset's write gate.

    async def delete_orphan_entities(self, dataset: str, ids: Sequence[str]) -> list[str]:
        """Delete those of ``ids`` that are entities no chunk mentions; the ids deleted."""
        ...

    async def delete_stray_vectors(self, dataset: str, ids: Sequence[str]) -> list[str]:
        """Delete the chunk vector rows among ``ids`` that no chunk has; the ids deleted."""
        ...

    async def restore_vectors(
        self, dataset: str, ids: Sequence[str], vectors: npt.NDArray[np.float32]
    ) -> list[str]:
        """Write the vectors (one row per id, in order) of chunks that lack them, with the
        provenance an import writes; ids that name no chunk are skipped. The ids written."""
        ...

    async def merge_entities(self, dataset: str, keep: str, drop: str) -> Merge:
        """Re-point every edge of entity ``drop`` to entity ``keep``, then delete ``drop``."""
        ...

    async def close(self) -> None: ...


# A readiness check: returns when its backend answers, raises (one line, no secret) otherwise.
Probe = Callable[[], Awaitable[None]]


@runtime_checkable
class Probed(Protocol):
    """A store that names its backends for ``/readyz`` (graph, vectors, its own tables) and
    a cheap check of each; a store without it is checked as a whole (``list_datasets``)."""

    def probes(self) -> dict[str, Probe]: ...
