"""Connected components of a graph whose edges arrive in pages, in memory that is one
integer per node slot: a union-find over the graph engine's internal node offsets.

Nodes are named by a dense integer (Ladybug's ``offset(id(n))``), never by their id string,
so a million-node graph costs a few megabytes however long its ids are. Each page of edges
is merged with vectorized numpy (find by pointer jumping, union by hooking the larger root
under the smaller), so a page of 100k edges is a handful of array operations, not 100k
Python steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cognition.store.port import Components, Degrees, Offenders

Ints = npt.NDArray[np.int64]


def size_bucket(size: int) -> str:
    """Powers of two, as the degree histogram: "1", "2-3", "4-7", ..."""
    if size < 2:
        return str(size)
    low = 1 << (size.bit_length() - 1)
    return f"{low}-{2 * low - 1}"


def degrees_of(histogram: dict[int, int], hubs: tuple[tuple[str, str, int], ...]) -> Degrees:
    """The audit's degree summary from a histogram (degree -> entities) and the hubs, as
    every store aggregates them in its own query language."""
    buckets: dict[str, int] = {}
    total = entities = peak = 0
    for degree, n in sorted(histogram.items()):
        buckets[size_bucket(degree)] = buckets.get(size_bucket(degree), 0) + n
        total, entities, peak = total + degree * n, entities + n, max(peak, degree)
    mean = round(total / entities, 3) if entities else 0.0
    return Degrees(buckets=buckets, mean=mean, max=peak, hubs=hubs)


def components_of(summary: Summary, outside: tuple[str, ...]) -> Components:
    """The audit's components from ``summarize``'s figures and the ids of the nodes
    ``summary.outside`` names (each store reads them in its own query language)."""
    return Components(
        count=summary.count,
        nodes=summary.nodes,
        largest=summary.largest,
        entities=summary.entities,
        largest_entities=summary.largest_entities,
        buckets=summary.buckets,
        outside=Offenders(summary.outside_total, outside),
    )


class UnionFind:
    """Disjoint sets over the slots ``0 .. slots-1``; only slots marked present count."""

    def __init__(self, slots: int) -> None:
        dtype = np.int32 if slots < 2**31 else np.int64
        self.parent = np.arange(slots, dtype=dtype)
        self.present = np.zeros(slots, dtype=bool)
        self.entity = np.zeros(slots, dtype=bool)

    def add_nodes(self, offsets: Ints, entity: npt.NDArray[np.bool_]) -> None:
        self.present[offsets] = True
        self.entity[offsets] = entity

    def _find(self, nodes: Ints) -> Ints:
        roots = self.parent[nodes]
        while True:
            up = self.parent[roots]
            if np.array_equal(up, roots):
                break
            roots = up
        self.parent[nodes] = roots  # path compression of the nodes asked about
        return roots.astype(np.int64)

    def union(self, sources: Ints, targets: Ints) -> None:
        """Merge the sets of each pair ``(sources[i], targets[i])``."""
        a, b = np.asarray(sources, np.int64), np.asarray(targets, np.int64)
        while a.size:
            ra, rb = self._find(a), self._find(b)
            apart = ra != rb
            if not apart.any():
                return
            a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
            # Several pairs may hook the same root: the smallest wins, the others retry.
            np.minimum.at(self.parent, np.maximum(ra, rb), np.minimum(ra, rb).astype(self.parent.dtype))

    def roots(self) -> Ints:
        """Every slot's root (fully compressed)."""
        while True:
            up = self.parent[self.parent]
            if np.array_equal(up, self.parent):
                return self.parent.astype(np.int64)
            self.parent = up


@dataclass(frozen=True)
class Summary:
    """Components by size; ``outside`` holds the entities' slots not in the component with
    the most entities (the first ``cap`` of them, in slot order)."""

    count: int
    nodes: int
    largest: int
    entities: int
    largest_entities: int
    buckets: dict[str, int]
    outside_total: int
    outside: list[int]


def summarize(found: UnionFind, cap: int) -> Summary:
    roots = found.roots()
    present = np.flatnonzero(found.present)
    if not present.size:
        return Summary(0, 0, 0, 0, 0, {}, 0, [])
    sizes = np.bincount(roots[present], minlength=roots.size)
    sizes = sizes[sizes > 0]
    entity_slots = np.flatnonzero(found.entity & found.present)
    per_root = np.bincount(roots[entity_slots], minlength=roots.size)
    main = int(per_root.argmax()) if entity_slots.size else -1
    outside = entity_slots[roots[entity_slots] != main]
    buckets: dict[str, int] = {}
    for size, n in zip(*np.unique(sizes, return_counts=True), strict=True):
        buckets[size_bucket(int(size))] = buckets.get(size_bucket(int(size)), 0) + int(n)
    return Summary(
        count=int(sizes.size),
        nodes=int(present.size),
        largest=int(sizes.max()),
        entities=int(entity_slots.size),
        largest_entities=int(per_root.max()) if entity_slots.size else 0,
        buckets=buckets,
        outside_total=int(outside.size),
        outside=[int(s) for s in outside[:cap]],
    )
