"""Personalized PageRank over a dataset's entity–chunk graph (HippoRAG's retrieval step).

Nodes are entities and chunks. A chunk links to the entities it mentions; entities link to
each other through extracted relations. Query entities seed the walk; chunks are ranked by
the probability mass they collect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class EntityGraph:
    """A dataset's retrieval graph, held in memory as edge arrays."""

    entity_ids: list[str]
    entity_keys: list[str]
    entity_names: list[str]
    chunk_ids: list[str]
    mention_chunk: IntArray  # chunk index per mention
    mention_entity: IntArray  # entity index per mention
    relation_source: IntArray  # entity index
    relation_target: IntArray  # entity index
    relation_weight: FloatArray
    entity_index: dict[str, int] = field(default_factory=dict)
    token_index: dict[str, list[int]] = field(default_factory=dict)
    entity_by_key: dict[str, int] = field(default_factory=dict)
    chunk_index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.entity_index = {e: i for i, e in enumerate(self.entity_ids)}
        self.entity_by_key = {k: i for i, k in enumerate(self.entity_keys)}
        for i, key in enumerate(self.entity_keys):
            for token in set(key.split()):
                self.token_index.setdefault(token, []).append(i)
        self.chunk_index = {c: i for i, c in enumerate(self.chunk_ids)}

    @property
    def size(self) -> int:
        return len(self.entity_ids) + len(self.chunk_ids)

    def similar_entities(self, key: str, min_score: float, max_postings: int = 200) -> dict[int, float]:
        """Entities whose key shares enough words with ``key`` (Jaccard of word sets).

        Words shared by more than ``max_postings`` entities are too common to link on.
        """
        words = set(key.split())
        candidates: set[int] = set()
        for word in words:
            postings = self.token_index.get(word, [])
            if len(postings) <= max_postings:
                candidates.update(postings)
        found: dict[int, float] = {}
        for index in candidates:
            other = set(self.entity_keys[index].split())
            score = len(words & other) / len(words | other)
            if score >= min_score:
                found[index] = score
        return found

    def chunk_frequency(self) -> FloatArray:
        """How many chunks mention each entity."""
        return np.bincount(self.mention_entity, minlength=len(self.entity_ids)).astype(np.float64)


@dataclass
class Transition:
    source: IntArray
    target: IntArray
    weight: FloatArray  # row-normalized transition probability
    size: int


def transition(graph: EntityGraph) -> Transition:
    """The undirected, row-normalized transition structure of the graph."""
    offset = len(graph.entity_ids)
    chunk_nodes = graph.mention_chunk + offset
    src = np.concatenate([graph.relation_source, graph.relation_target, chunk_nodes, graph.mention_entity])
    dst = np.concatenate([graph.relation_target, graph.relation_source, graph.mention_entity, chunk_nodes])
    mention_w = np.ones(len(chunk_nodes), dtype=np.float64)
    rel_w = np.log1p(graph.relation_weight.astype(np.float64))
    weight = np.concatenate([rel_w, rel_w, mention_w, mention_w])
    out = np.bincount(src, weights=weight, minlength=graph.size)
    norm = np.where(out[src] > 0, weight / np.maximum(out[src], 1e-12), 0.0)
    return Transition(src.astype(np.int64), dst.astype(np.int64), norm, graph.size)


def personalized_pagerank(
    matrix: Transition, reset: FloatArray, damping: float = 0.5, iterations: int = 30, tol: float = 1e-8
) -> FloatArray:
    """Power iteration of PPR with the given (unnormalized) reset vector."""
    total = reset.sum()
    if total <= 0:
        return np.zeros(matrix.size)
    reset = reset / total
    scores: FloatArray = reset.copy()
    for _ in range(iterations):
        spread = np.bincount(
            matrix.target, weights=scores[matrix.source] * matrix.weight, minlength=matrix.size
        )
        dangling = 1.0 - spread.sum()
        updated = (1 - damping) * reset + damping * (spread + dangling * reset)
        converged = float(np.abs(updated - scores).sum()) < tol
        scores = updated
        if converged:
            break
    return scores
