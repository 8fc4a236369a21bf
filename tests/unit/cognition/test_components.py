"""The streaming union-find behind the components check, on small graphs whose components
are known: edges given in several pages, absent slots (deleted nodes) not counted."""

from __future__ import annotations

import numpy as np

from cognition.store.components import UnionFind, size_bucket, summarize


def _graph(
    slots: int, present: list[int], entities: list[int], pages: list[list[tuple[int, int]]]
) -> UnionFind:
    found = UnionFind(slots)
    found.add_nodes(np.array(present, np.int64), np.isin(present, entities))
    for page in pages:
        pairs = np.array(page, np.int64).reshape(-1, 2)
        found.union(pairs[:, 0], pairs[:, 1])
    return found


def test_components_of_a_known_graph_in_pages() -> None:
    # {0,1,2,3} a path given backwards over two pages, {5,6} a pair, {7} alone, slot 4 deleted,
    # {8..11} a star whose centre is its highest slot (every pair hooks the same root).
    pages = [[(3, 2), (6, 5)], [(2, 1), (1, 0), (11, 8), (11, 9), (11, 10)]]
    found = _graph(12, [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11], [1, 2, 3, 5, 7, 9, 10, 11], pages)

    summary = summarize(found, cap=10)

    assert (summary.count, summary.nodes, summary.largest) == (4, 11, 4)
    assert summary.buckets == {"1": 1, "2-3": 1, "4-7": 2}
    # Entities: 3 in {0..3}, 3 in {8..11}: the tie goes to the lowest root; the rest are outside.
    assert (summary.entities, summary.largest_entities) == (8, 3)
    assert summary.outside_total == 5 and summary.outside == [5, 7, 9, 10, 11]


def test_one_long_chain_merged_in_one_page_is_one_component() -> None:
    n = 10_000
    order = np.random.default_rng(7).permutation(n)
    found = _graph(n, list(range(n)), [], [list(zip(order[:-1].tolist(), order[1:].tolist(), strict=True))])

    summary = summarize(found, cap=3)

    assert (summary.count, summary.largest, summary.buckets) == (1, n, {"8192-16383": 1})
    assert summary.outside == []


def test_an_empty_graph_and_the_buckets() -> None:
    assert summarize(UnionFind(0), cap=5).count == 0
    assert [size_bucket(s) for s in (1, 2, 3, 4, 7, 8)] == ["1", "2-3", "2-3", "4-7", "4-7", "8-15"]
