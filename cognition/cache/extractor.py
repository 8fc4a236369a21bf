"""``CachedExtractor``: a paid graph extractor behind the cache, seen through the same port.

Results are keyed by the extractor's model (its ``model_id`` when it has one, else its
``name``) and a version the caller gives: the prompt's, so a changed prompt never serves
the old prompt's answers. Chunks whose stored result does not decode are extracted again
and overwritten. Misses go to the inner extractor ``write_every`` chunks at a time, each
group written back when it is answered: a killed process loses one group. An empty graph is
not stored: it is what a bad answer (invalid or truncated JSON) leaves, and asking again on
the next import for a chunk that has nothing costs less than keeping a failure for good.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, cast, get_args

from cognition.budget import BudgetExhausted
from cognition.cache.port import ResultCache, Scope, digest
from cognition.extract.port import ChunkGraph, EntityKind, EntityMention, GraphExtractor, Relation

_KINDS = frozenset(get_args(EntityKind))


def encode_graph(graph: ChunkGraph) -> bytes:
    payload = {
        "entities": [[e.key, e.name, e.kind] for e in graph.entities],
        "relations": [[r.source, r.target, r.name, r.weight] for r in graph.relations],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_graph(value: bytes) -> ChunkGraph | None:
    """The graph stored in ``value``, or None when it is not one."""
    try:
        payload: Any = json.loads(value.decode("utf-8"))
        entities = [_entity(item) for item in payload["entities"]]
        relations = [
            Relation(str(source), str(target), str(name), float(weight))
            for source, target, name, weight in payload["relations"]
        ]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
    return ChunkGraph(entities, relations)


def _entity(item: Any) -> EntityMention:
    key, name, kind = item
    if kind not in _KINDS:
        raise ValueError(f"unknown entity kind {kind!r}")
    return EntityMention(str(key), str(name), cast(EntityKind, kind))


class CachedExtractor:
    """Implements ``cognition.extract.port.GraphExtractor`` around ``inner``, transparently."""

    def __init__(
        self, inner: GraphExtractor, cache: ResultCache, version: str, write_every: int = 32
    ) -> None:
        self.inner = inner
        self.write_every = max(1, write_every)  # chunks sent at once, written back together
        self.cache = cache
        self.name = inner.name
        model = getattr(inner, "model_id", None)
        self.scope = Scope(str(model or inner.name), "extraction", version)
        self.hits = 0
        self.misses = 0

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]:
        keys = [digest(text) for text in texts]
        stored = await asyncio.to_thread(self.cache.get_many, self.scope, keys)
        known = {key: graph for key, value in stored.items() if (graph := decode_graph(value)) is not None}
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        self.hits += sum(1 for key in keys if key not in missing)
        self.misses += len(missing)
        for start in range(0, len(missing), self.write_every):
            part = dict(list(missing.items())[start : start + self.write_every])
            try:
                fresh = await self.inner.extract(list(part.values()))
            except BudgetExhausted as exc:  # what was paid before the cap is kept all the same
                names = list(part)
                await self._keep({names[i]: graph for i, graph in exc.partial.items()})
                raise
            made = dict(zip(part, fresh, strict=True))
            await self._keep(made)
            known.update(made)
        return [_copy(known[key]) for key in keys]

    async def _keep(self, made: dict[str, ChunkGraph]) -> None:
        await asyncio.to_thread(
            self.cache.put_many, self.scope, {k: encode_graph(g) for k, g in made.items() if g.entities}
        )

    async def aclose(self) -> None:
        """Close a remote inner extractor's sessions (its own ``aclose``), if it has any."""
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()


def _copy(graph: ChunkGraph) -> ChunkGraph:
    """A graph of its own per chunk (the same text twice in a batch must not share lists)."""
    return ChunkGraph(list(graph.entities), list(graph.relations))
