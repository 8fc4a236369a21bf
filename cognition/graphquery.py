"""Graph questions an agent asks, answered through the store port: entities by name, an
entity with its neighbourhood, paths between two entities, the chunks that mention one.

Depth and path length are bounded by the caller (the API's settings); every answer is
bounded in size by ``limit``.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from cognition.errors import NotFound
from cognition.extract.normalize import entity_key
from cognition.graphrank import EntityGraph
from cognition.store.port import EntityInfo, Neighbour, Store


@dataclass(frozen=True)
class Edge:
    """One relation met while walking out from an entity."""

    source_id: str  # the entity the walk came from
    target: EntityInfo
    relation: str
    weight: float
    direction: Literal["out", "in"]  # "out": source -[relation]-> target
    depth: int


@dataclass
class Neighbourhood:
    entity: EntityInfo
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False  # more relations exist than the limit let through


@dataclass(frozen=True)
class Hop:
    source: EntityInfo
    relation: str
    target: EntityInfo
    direction: Literal["out", "in"]


async def find_entities(store: Store, dataset: str, name: str, limit: int) -> list[EntityInfo]:
    """Entities whose key is the name's key (normalized as the extractor normalizes names:
    case, plurals, punctuation), most mentioned first."""
    key = entity_key(name)
    if not key:
        return []
    found = await store.find_entities(dataset, [key], limit)
    return sorted(found, key=lambda e: (-e.chunks, e.name))[:limit]


async def entity(store: Store, dataset: str, entity_id: str) -> EntityInfo:
    found = await store.get_entities(dataset, [entity_id])
    if not found:
        raise NotFound("entity", entity_id)
    return found[0]


async def neighbourhood(store: Store, dataset: str, entity_id: str, depth: int, limit: int) -> Neighbourhood:
    """The entity and the relations within ``depth`` hops, heaviest first at each hop, at
    most ``limit`` relations in all (breadth first: near ones before far ones). Each
    relation is listed once: walking on from a neighbour meets the relation that led to it
    again, from its other end, and listing it twice named the start entity as a relation's
    far end (a path to it is empty)."""
    result = Neighbourhood(await entity(store, dataset, entity_id))
    seen = {entity_id}
    listed: set[tuple[str, str, str]] = set()  # (from, to, relation) as stored
    frontier = [entity_id]
    for level in range(1, depth + 1):
        following: list[str] = []
        for source in frontier:
            room = limit - len(result.edges)
            if room <= 0:
                result.truncated = True
                return result
            found = [
                n
                for n in await store.neighbours(dataset, source, limit + 1)
                if _relation(source, n) not in listed
            ]
            if len(found) > room:
                result.truncated = True
            for n in found[:room]:
                listed.add(_relation(source, n))
                result.edges.append(Edge(source, n.entity, n.relation, n.weight, n.direction, level))
                if n.entity.id not in seen:
                    seen.add(n.entity.id)
                    following.append(n.entity.id)
        frontier = following
    return result


def _relation(source: str, n: Neighbour) -> tuple[str, str, str]:
    return (source, n.entity.id, n.relation) if n.direction == "out" else (n.entity.id, source, n.relation)


async def paths(
    store: Store,
    graph: EntityGraph,
    dataset: str,
    source_id: str,
    target_id: str,
    max_length: int,
    limit: int,
) -> list[list[Hop]]:
    """Up to ``limit`` shortest paths (relations followed either way) of at most
    ``max_length`` relations from one entity to another; [] when none is that short."""
    start, goal = await entity(store, dataset, source_id), await entity(store, dataset, target_id)
    index = {eid: i for i, eid in enumerate(graph.entity_ids)}
    if start.id not in index or goal.id not in index:
        return []
    routes = _shortest_routes(graph, index[start.id], index[goal.id], max_length, limit)
    return [await _hops(store, dataset, graph, route) for route in routes]


def _shortest_routes(
    graph: EntityGraph, start: int, goal: int, max_length: int, limit: int
) -> list[list[int]]:
    """Breadth-first search over the relation edges, undirected; every shortest route."""
    adjacent: dict[int, set[int]] = {}
    for a, b in zip(graph.relation_source.tolist(), graph.relation_target.tolist(), strict=True):
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    parents: dict[int, list[int]] = {start: []}
    depth = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if depth[node] >= max_length or (goal in depth and depth[node] >= depth[goal]):
            continue
        for other in sorted(adjacent.get(node, ())):
            if other not in depth:
                depth[other] = depth[node] + 1
                parents[other] = [node]
                queue.append(other)
            elif depth[other] == depth[node] + 1:
                parents[other].append(node)
    if goal not in depth or goal == start:
        return []
    routes: list[list[int]] = []

    def walk(node: int, tail: list[int]) -> None:
        if len(routes) >= limit:
            return
        if node == start:
            routes.append([start, *tail])
            return
        for parent in parents[node]:
            walk(parent, [node, *tail])

    walk(goal, [])
    return routes


async def _hops(store: Store, dataset: str, graph: EntityGraph, route: list[int]) -> list[Hop]:
    ids = [graph.entity_ids[i] for i in route]
    info = {e.id: e for e in await store.get_entities(dataset, ids)}
    hops = []
    for a, b in itertools.pairwise(ids):
        relation, direction = "related_to", "out"
        for n in await store.neighbours(dataset, a, 1000):
            if n.entity.id == b:
                relation, direction = n.relation, n.direction
                break
        hops.append(Hop(info[a], relation, info[b], "out" if direction == "out" else "in"))
    return hops
