"""Search over one or more datasets: vector, graph (personalized PageRank) and hybrid.

- vector: chunks ranked by cosine similarity of their embedding to the query's.
- graph: the query's entities are linked to the dataset's entities (exact key, else entities
  sharing most of its words), PPR spreads from them over the entity–chunk graph, and chunks
  are ranked by the mass they collect (HippoRAG).
- hybrid: the same walk, seeded also by the dense hits in proportion to their similarity
  (HippoRAG 2's dense–sparse integration).

Each dataset is searched in its own store space; results are merged afterwards, so no query
can read a dataset it did not name. Graph scores (PPR mass) from separate graphs are not
comparable: a small graph concentrates its mass, so its best chunk outscores a large graph's
exact match. Hits of several datasets are therefore merged by a score that is (see
``_comparable``): each hit's cosine similarity to the query (one embedding model serves every
dataset searched together), with a small share of its graph score relative to its dataset's
best; each dataset's own order is kept. A search of one dataset returns its own ranking and
scores, unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from cognition.errors import DatasetNotFoundError, SearchError
from cognition.graphrank import EntityGraph, Transition, personalized_pagerank, transition
from cognition.settings import SearchSettings
from cognition.store.port import GraphData, Store, StoredChunk

Mode = Literal["vector", "graph", "hybrid"]
MODES: tuple[Mode, ...] = ("vector", "graph", "hybrid")


class QueryAnalyzer(Protocol):
    """Finds entity keys in a query, normalized as the extractor normalizes them."""

    def keys(self, query: str) -> list[str]: ...


Embed = Callable[[Sequence[str]], Awaitable[np.ndarray]]
VersionOf = Callable[[str], int | None]
Admit = Callable[[str], None]  # raises if a dataset may not be searched (e.g. another model's vectors)
Accept = Callable[[StoredChunk], bool]  # a filter on hits (documents, source prefix, section)
FILTERED_DEPTH = 400  # candidates per dataset a filtered search looks through

# Share of the within-dataset graph score in the score that merges several datasets' hits; the
# rest is cosine similarity, the comparable part. Small: it breaks near-ties in favour of a
# dataset's own top hits, and never lets an unrelated dataset's best outrank a close match.
_GRAPH_SHARE = 0.2


@dataclass
class Hit:
    """One search result with its provenance."""

    dataset: str
    chunk_id: str
    document_id: str
    document_title: str
    source: str
    section_path: tuple[str, ...]
    page_start: int
    page_end: int
    text: str
    score: float
    entities: list[str] = field(default_factory=list)
    page_label_start: str | None = None  # the printed page numbers, when they are not the positions
    page_label_end: str | None = None

    @property
    def pages(self) -> str:
        """The pages' positions in the file ("81" or "81-82")."""
        return _span(str(self.page_start), str(self.page_end))

    @property
    def page_labels(self) -> str | None:
        """The pages' printed numbers ("57" or "57-58"); None when the book prints none other
        than the positions (a web page, a book without front matter)."""
        if self.page_label_start is None and self.page_label_end is None:
            return None
        start = self.page_label_start or str(self.page_start)
        return _span(start, self.page_label_end or str(self.page_end))

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "document_title": self.document_title,
            "source": self.source,
            "section": list(self.section_path),
            "page_start": self.page_start,
            "page_end": self.page_end,
            "page_label_start": self.page_label_start,
            "page_label_end": self.page_label_end,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "score": round(self.score, 6),
            "entities": self.entities,
        }


@dataclass
class _Ranked:
    scores: dict[str, float]  # chunk id -> score
    entities: dict[str, list[str]] = field(default_factory=dict)  # chunk id -> entity names


@dataclass
class _GraphCache:
    version: int | None
    graph: EntityGraph
    matrix: Transition


class Searcher:
    """Runs searches; keeps each dataset's graph in memory until the dataset changes."""

    def __init__(
        self,
        settings: SearchSettings,
        store: Store,
        embed: Embed,
        analyzer: QueryAnalyzer,
        version_of: VersionOf,
        admit: Admit | None = None,
    ) -> None:
        self._settings = settings
        self._admit = admit
        self._store = store
        self._embed = embed
        self._analyzer = analyzer
        self._version_of = version_of
        self._graphs: dict[str, _GraphCache] = {}

    async def search(
        self,
        query: str,
        datasets: Sequence[str],
        mode: str = "hybrid",
        top_k: int = 5,
        accept: Accept | None = None,
    ) -> list[Hit]:
        """Search the named datasets; hits from all of them, best first. ``accept`` keeps
        only the chunks it accepts, among the best ``FILTERED_DEPTH`` candidates of each
        dataset."""
        self.validate(query, datasets, mode, top_k)
        for name in datasets:
            if not await self._store.dataset_exists(name):
                raise DatasetNotFoundError(name)
            if self._admit is not None:
                self._admit(name)
        vector = (await self._embed([query]))[0]
        per_dataset = await asyncio.gather(
            *(self._one(query, vector, name, mode, top_k, accept) for name in datasets)
        )
        if len(per_dataset) > 1 and mode != "vector":  # cosine similarity is comparable already
            for candidates in per_dataset:
                _comparable(candidates)
        merged = [hit for candidates in per_dataset for hit, _ in candidates]
        merged.sort(key=lambda h: -h.score)
        return merged[:top_k]

    def validate(self, query: str, datasets: Sequence[str], mode: str, top_k: int) -> None:
        validate(self._settings, query, datasets, mode, top_k)

    async def _one(
        self, query: str, vector: np.ndarray, dataset: str, mode: str, top_k: int, accept: Accept | None
    ) -> list[tuple[Hit, float]]:
        """The dataset's best hits in its own order, each with its cosine similarity to the
        query: exact for the ``depth`` nearest chunks; for a chunk only the graph found, the
        lowest of theirs (it is not among the nearest, so its own is at most that)."""
        depth = max(top_k * 4, 20) if accept is None else max(top_k * 4, FILTERED_DEPTH)
        nearest = await self._store.search_chunks(dataset, vector.tolist(), depth)
        if mode == "vector":
            kept = [s for s in nearest if accept is None or accept(s.chunk)]
            return [(_hit(s.chunk, s.score, []), s.score) for s in kept[:top_k]]
        dense = _Ranked({s.chunk.id: s.score for s in nearest})
        if mode == "graph":
            ranked = await self._graph_ranking(query, dataset, dense, depth, passage_weight=0.0)
        else:
            ranked = await self._graph_ranking(
                query, dataset, dense, depth, passage_weight=self._settings.hybrid_passage_weight
            )
        best = sorted(ranked.scores.items(), key=lambda kv: -kv[1])[: top_k if accept is None else depth]
        chunks = {s.chunk.id: s.chunk for s in nearest}
        wanted = [cid for cid, _ in best if cid not in chunks]
        chunks.update((c.id, c) for c in await self._store.get_chunks(dataset, wanted))
        floor = min(dense.scores.values(), default=0.0)
        found = [
            (_hit(chunks[cid], score, ranked.entities.get(cid, [])), dense.scores.get(cid, floor))
            for cid, score in best
            if cid in chunks
        ]
        return [pair for pair in found if accept is None or accept(chunks[pair[0].chunk_id])][:top_k]

    def forget(self, dataset: str) -> None:
        """Drop the dataset's cached graph (it was deleted)."""
        self._graphs.pop(dataset, None)

    async def graph_for(self, dataset: str) -> tuple[EntityGraph, Transition]:
        """The dataset's retrieval graph, loaded once per dataset version."""
        version = self._version_of(dataset)
        cached = self._graphs.get(dataset)
        if cached is None or cached.version != version or version is None:
            data = await self._store.graph(dataset)
            graph, matrix = await asyncio.to_thread(_ranking_structure, data)
            cached = _GraphCache(version, graph, matrix)
            self._graphs[dataset] = cached
        return cached.graph, cached.matrix

    async def _graph_ranking(
        self, query: str, dataset: str, dense: _Ranked, depth: int, passage_weight: float
    ) -> _Ranked:
        """PPR from the query's entities; with ``passage_weight`` > 0 the dense hits seed the
        walk too, in proportion to their similarity (HippoRAG 2's dense–sparse integration).
        The walk runs on a worker thread (numpy releases the GIL), so a server's event loop
        keeps answering while it runs."""
        graph, matrix = await self.graph_for(dataset)
        if not graph.chunk_ids:
            return _Ranked({})
        return await asyncio.to_thread(self._rank, query, graph, matrix, dense, depth, passage_weight)

    def _rank(
        self,
        query: str,
        graph: EntityGraph,
        matrix: Transition,
        dense: _Ranked,
        depth: int,
        passage_weight: float,
    ) -> _Ranked:
        seeds = self._seeds(query, graph)
        if not seeds and passage_weight <= 0:
            seeds = _seeds_from_chunks(graph, list(dense.scores)[:3])
        reset = _entity_reset(graph, seeds)
        if passage_weight > 0:
            reset += passage_weight * _passage_reset(graph, dense)
        scores = personalized_pagerank(
            matrix,
            reset,
            self._settings.ppr_damping,
            self._settings.ppr_iterations,
        )
        return _chunk_ranking(graph, scores, seeds, depth)

    def _seeds(self, query: str, graph: EntityGraph) -> dict[int, float]:
        seeds: dict[int, float] = {}
        unlinked: list[str] = []
        for key in self._analyzer.keys(query):
            index = graph.entity_by_key.get(key)
            if index is None:
                unlinked.append(key)
            else:
                seeds[index] = max(seeds.get(index, 0.0), 1.0)
        for key in unlinked:
            for index, score in graph.similar_entities(key, self._settings.link_min_overlap).items():
                seeds[index] = max(seeds.get(index, 0.0), score)
        return seeds


def validate(settings: SearchSettings, query: str, datasets: Sequence[str], mode: str, top_k: int) -> None:
    """Refuse a search that cannot run (empty query, no dataset, unknown mode, top-k out of
    range), in the words every entry point shows."""
    if not query.strip():
        raise SearchError("the query is empty")
    if not datasets:
        raise SearchError("name at least one dataset to search")
    if mode not in MODES:
        raise SearchError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if not 1 <= top_k <= settings.max_top_k:
        raise SearchError(f"top-k must be between 1 and {settings.max_top_k}")


def _ranking_structure(data: GraphData) -> tuple[EntityGraph, Transition]:
    graph = entity_graph(data)
    return graph, transition(graph)


def entity_graph(data: GraphData) -> EntityGraph:
    """The ranking structure of a dataset's graph as the store gives it."""
    return EntityGraph(
        entity_ids=data.entity_ids,
        entity_keys=data.entity_keys,
        entity_names=data.entity_names,
        chunk_ids=data.chunk_ids,
        mention_chunk=data.mention_chunk,
        mention_entity=data.mention_entity,
        relation_source=data.relation_source,
        relation_target=data.relation_target,
        relation_weight=data.relation_weight,
    )


def _entity_reset(graph: EntityGraph, seeds: dict[int, float]) -> np.ndarray:
    """Seed mass on entities, weighted by specificity (rare entities count more), summing to 1."""
    reset = np.zeros(graph.size)
    if not seeds:
        return reset
    frequency = np.maximum(graph.chunk_frequency(), 1.0)
    for index, weight in seeds.items():
        reset[index] += weight / frequency[index]
    normalized: np.ndarray = reset / reset.sum()
    return normalized


def _passage_reset(graph: EntityGraph, dense: _Ranked) -> np.ndarray:
    """Seed mass on the dense hits, min-max normalized similarities, summing to 1."""
    reset = np.zeros(graph.size)
    offset = len(graph.entity_ids)
    hits = [(graph.chunk_index[c], s) for c, s in dense.scores.items() if c in graph.chunk_index]
    if not hits:
        return reset
    values = np.array([s for _, s in hits])
    spread = values.max() - values.min()
    normalized = (values - values.min()) / spread if spread > 0 else np.ones_like(values)
    for (index, _), weight in zip(hits, normalized, strict=True):
        reset[offset + index] = weight
    total = reset.sum()
    return reset / total if total > 0 else reset


def _seeds_from_chunks(graph: EntityGraph, chunk_ids: list[str]) -> dict[int, float]:
    wanted = {graph.chunk_index[c] for c in chunk_ids if c in graph.chunk_index}
    mask = np.isin(graph.mention_chunk, list(wanted))
    return {int(e): 1.0 for e in np.unique(graph.mention_entity[mask])}


def _chunk_ranking(graph: EntityGraph, scores: np.ndarray, seeds: dict[int, float], depth: int) -> _Ranked:
    offset = len(graph.entity_ids)
    chunk_scores = scores[offset:]
    order = np.argsort(-chunk_scores)[:depth]
    top = {int(i) for i in order if chunk_scores[i] > 0}
    ranked = _Ranked({graph.chunk_ids[i]: float(chunk_scores[i]) for i in top})
    mask = np.isin(graph.mention_chunk, list(top))
    found: dict[str, list[int]] = {}
    for chunk, entity in zip(graph.mention_chunk[mask], graph.mention_entity[mask], strict=True):
        if int(entity) in seeds or scores[entity] > 0:
            found.setdefault(graph.chunk_ids[chunk], []).append(int(entity))
    for cid, entities in found.items():
        best = sorted(set(entities), key=lambda e: (e not in seeds, -scores[e]))[:10]
        ranked.entities[cid] = [graph.entity_names[e] for e in best]
    return ranked


def _comparable(candidates: list[tuple[Hit, float]]) -> None:
    """Give one dataset's graph-ranked hits (best first, with their cosine similarity) a score
    comparable with other datasets': ``(1 - share) * cosine + share * graph / best graph``,
    raised to the best such score further down the list, so the scores never rise down the
    list and the dataset's own order survives the merge (a strong match ranked fifth in its
    dataset lifts the four its graph ranks above it)."""
    if not candidates:
        return
    best = max(hit.score for hit, _ in candidates) or 1.0
    running = -np.inf
    for hit, similarity in reversed(candidates):
        running = max(running, (1 - _GRAPH_SHARE) * similarity + _GRAPH_SHARE * hit.score / best)
        hit.score = float(running)


def _span(start: str, end: str) -> str:
    return start if start == end else f"{start}-{end}"


def _hit(chunk: StoredChunk, score: float, entities: list[str]) -> Hit:
    return Hit(
        dataset=chunk.dataset,
        chunk_id=chunk.id,
        document_id=chunk.document_id,
        document_title=chunk.document_title,
        source=chunk.source,
        section_path=chunk.section_path,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        text=chunk.text,
        score=score,
        entities=entities,
        page_label_start=chunk.page_label_start,
        page_label_end=chunk.page_label_end,
    )
