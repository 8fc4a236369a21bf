"""Personalized PageRank and the graph it walks, on graphs small enough to solve by hand.

The reference scores are computed here independently of ``cognition.graphrank``: a dense
transition matrix written out by hand, and the fixed point of the walk solved as a linear
system. With ``D`` the dangling nodes (no edges; their mass goes back to the reset, as in
``personalized_pagerank``) the fixed point of

    x = (1 - d)·r + d·(Pᵀx + (Σ_{i∈D} x_i)·r)

is the solution of ``(I - d·(Pᵀ + r·1_Dᵀ)) x = (1 - d)·r``; without dangling nodes this is
the textbook ``(I - d·Pᵀ) x = (1 - d)·r``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from cognition.graphrank import EntityGraph, Transition, personalized_pagerank, transition

Edges = list[tuple[int, int]]


def make_graph(
    keys: list[str],
    chunks: int,
    mentions: Edges,
    relations: Sequence[tuple[int, int, float]] = (),
) -> EntityGraph:
    """A graph of entities named by ``keys``; ``mentions`` are (chunk, entity) pairs."""
    return EntityGraph(
        entity_ids=[f"e{i}" for i in range(len(keys))],
        entity_keys=keys,
        entity_names=[k.title() for k in keys],
        chunk_ids=[f"c{i}" for i in range(chunks)],
        mention_chunk=np.array([c for c, _ in mentions], dtype=np.int64),
        mention_entity=np.array([e for _, e in mentions], dtype=np.int64),
        relation_source=np.array([s for s, _, _ in relations], dtype=np.int64),
        relation_target=np.array([t for _, t, _ in relations], dtype=np.int64),
        relation_weight=np.array([w for _, _, w in relations], dtype=np.float64),
    )


def from_dense(matrix: np.ndarray) -> Transition:
    """The walk's edge arrays for a row-stochastic (or all-zero-row) dense matrix."""
    source, target = np.nonzero(matrix)
    return Transition(source, target, matrix[source, target], matrix.shape[0])


def to_dense(matrix: Transition) -> np.ndarray:
    dense = np.zeros((matrix.size, matrix.size))
    np.add.at(dense, (matrix.source, matrix.target), matrix.weight)
    return dense


def row_normalized(adjacency: np.ndarray) -> np.ndarray:
    out = adjacency.sum(axis=1, keepdims=True)
    normalized: np.ndarray = np.divide(adjacency, out, out=np.zeros_like(adjacency), where=out > 0)
    return normalized


def exact_ppr(p: np.ndarray, reset: np.ndarray, damping: float) -> np.ndarray:
    """The walk's fixed point, solved directly (dangling mass returns to the reset)."""
    r = reset / reset.sum()
    dangling = (p.sum(axis=1) == 0).astype(np.float64)
    system = np.eye(len(r)) - damping * (p.T + np.outer(r, dangling))
    solution: np.ndarray = np.linalg.solve(system, (1 - damping) * r)
    return solution


# A small undirected weighted graph: 0-1, 0-2, 1-2 (weight 2), 2-3; node 4 has no edges.
ADJACENCY = np.array(
    [
        [0, 1, 1, 0, 0],
        [1, 0, 2, 0, 0],
        [1, 2, 0, 1, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)


# --------------------------------------------------------------------------- PPR


def test_two_linked_nodes_share_mass_as_solved_by_hand() -> None:
    # x0 = (1-d) + d·x1, x1 = d·x0  =>  x0 = 1/(1+d), x1 = d/(1+d)
    walk = from_dense(np.array([[0.0, 1.0], [1.0, 0.0]]))

    scores = personalized_pagerank(walk, np.array([1.0, 0.0]), damping=0.4, iterations=200, tol=1e-14)

    np.testing.assert_allclose(scores, [1 / 1.4, 0.4 / 1.4], atol=1e-12)


@pytest.mark.parametrize("damping", [0.3, 0.5, 0.85])
@pytest.mark.parametrize(
    "reset",
    [[1, 0, 0, 0, 0], [0, 0, 0, 3, 0], [1, 0, 0, 0, 1], [0.2, 0.5, 0.1, 0.7, 0.4]],
    ids=["one-seed", "leaf-seed", "seed-and-dangling-seed", "spread"],
)
def test_scores_are_the_stationary_distribution_of_the_walk(damping: float, reset: list[float]) -> None:
    p = row_normalized(ADJACENCY)
    r = np.array(reset, dtype=np.float64)

    scores = personalized_pagerank(from_dense(p), r, damping=damping, iterations=500, tol=1e-14)

    assert np.allclose(scores, exact_ppr(p, r, damping), atol=1e-10)


def test_a_directed_walk_follows_its_edges_not_their_reverse() -> None:
    # 0 -> 1 -> 2 -> 0 with a shortcut 0 -> 2: mass flows along the arrows.
    p = np.array([[0, 0.5, 0.5], [0, 0, 1.0], [1.0, 0, 0]])
    r = np.array([1.0, 0.0, 0.0])

    scores = personalized_pagerank(from_dense(p), r, damping=0.5, iterations=500, tol=1e-14)

    assert np.allclose(scores, exact_ppr(p, r, 0.5), atol=1e-10)
    assert scores[2] > scores[1]  # 2 is reached from 0 and from 1; 1 only from 0


def test_default_settings_converge_to_the_fixed_point() -> None:
    p = row_normalized(ADJACENCY)
    r = np.array([1.0, 0, 0, 0, 0])

    scores = personalized_pagerank(from_dense(p), r)  # damping 0.5, 30 iterations

    assert np.allclose(scores, exact_ppr(p, r, 0.5), atol=1e-6)


def test_scores_sum_to_one_whatever_the_scale_of_the_reset() -> None:
    walk = from_dense(row_normalized(ADJACENCY))

    small = personalized_pagerank(walk, np.array([0.001, 0, 0.002, 0, 0.001]))
    large = personalized_pagerank(walk, np.array([1000.0, 0, 2000, 0, 1000]))

    assert math.isclose(small.sum(), 1.0, abs_tol=1e-12)
    np.testing.assert_allclose(small, large, atol=1e-12)


def test_a_symmetric_graph_seeded_symmetrically_ties_its_mirror_nodes() -> None:
    # a path 0 - 1 - 2 - 3 - 4, seeded at both ends
    path = np.zeros((5, 5))
    for a in range(4):
        path[a, a + 1] = path[a + 1, a] = 1.0

    scores = personalized_pagerank(from_dense(row_normalized(path)), np.array([1.0, 0, 0, 0, 1.0]))

    assert scores[0] == pytest.approx(scores[4], abs=1e-15)
    assert scores[1] == pytest.approx(scores[3], abs=1e-15)
    assert scores[0] > scores[1] > scores[2] > 0


def test_no_seeds_give_no_scores() -> None:
    walk = from_dense(row_normalized(ADJACENCY))

    assert not personalized_pagerank(walk, np.zeros(5)).any()
    assert personalized_pagerank(walk, np.zeros(5)).shape == (5,)


def test_a_lone_seed_without_edges_keeps_all_the_mass() -> None:
    walk = from_dense(row_normalized(ADJACENCY))

    scores = personalized_pagerank(walk, np.array([0, 0, 0, 0, 1.0]), damping=0.85)

    np.testing.assert_allclose(scores, [0, 0, 0, 0, 1.0], atol=1e-15)


def test_damping_zero_returns_the_normalized_reset() -> None:
    walk = from_dense(row_normalized(ADJACENCY))

    scores = personalized_pagerank(walk, np.array([2.0, 0, 1, 1, 0]), damping=0.0)

    np.testing.assert_allclose(scores, [0.5, 0, 0.25, 0.25, 0])


def test_the_reset_vector_is_not_modified() -> None:
    reset = np.array([2.0, 0, 1, 1, 0])

    personalized_pagerank(from_dense(row_normalized(ADJACENCY)), reset)

    np.testing.assert_array_equal(reset, [2.0, 0, 1, 1, 0])


# --------------------------------------------------------------------------- transition


# entities e0, e1, e2 (e2 has no edges); chunk c0 mentions e0 and e1, c1 mentions e1;
# one relation e0 -> e1 of weight 3. Nodes: e0, e1, e2, c0, c1.
def small_graph() -> EntityGraph:
    return make_graph(["alpha", "beta", "gamma"], 2, [(0, 0), (0, 1), (1, 1)], [(0, 1, 3.0)])


def test_transition_is_row_normalized_undirected_with_log_relation_weights() -> None:
    rel = math.log1p(3.0)  # relation weights are damped: log(1 + weight)
    expected = np.array(
        [
            # e0   e1   e2   c0   c1
            [0, rel / (rel + 1), 0, 1 / (rel + 1), 0],  # e0: relation to e1, mentioned by c0
            [rel / (rel + 2), 0, 0, 1 / (rel + 2), 1 / (rel + 2)],  # e1: e0, c0, c1
            [0, 0, 0, 0, 0],  # e2: no edges (dangling)
            [0.5, 0.5, 0, 0, 0],  # c0 mentions e0 and e1, weight 1 each
            [0, 1, 0, 0, 0],  # c1 mentions e1
        ]
    )

    walk = transition(small_graph())

    assert walk.size == 5
    np.testing.assert_allclose(to_dense(walk), expected, atol=1e-12)


def test_every_edge_of_the_transition_goes_both_ways() -> None:
    dense = to_dense(transition(small_graph()))

    np.testing.assert_array_equal(dense > 0, (dense > 0).T)
    np.testing.assert_allclose(dense.sum(axis=1), [1, 1, 0, 1, 1])


def test_a_heavier_relation_pulls_more_but_less_than_in_proportion() -> None:
    graph = make_graph(["a", "b", "c"], 0, [], [(0, 1, 1.0), (0, 2, 9.0)])

    row = to_dense(transition(graph))[0]

    assert row[2] / row[1] == pytest.approx(math.log(10) / math.log(2))  # not 9


def test_a_chunk_links_to_an_entity_with_weight_one_whatever_the_relations() -> None:
    graph = make_graph(["a", "b"], 1, [(0, 0), (0, 1)], [(0, 1, 1000.0)])

    dense = to_dense(transition(graph))

    np.testing.assert_allclose(dense[2, :2], [0.5, 0.5])  # the chunk's row: plain mentions


def test_the_walk_over_a_real_transition_matches_the_hand_solution() -> None:
    graph = small_graph()
    p = to_dense(transition(graph))
    reset = np.array([1.0, 0, 0, 0, 0])  # the query names "alpha"

    scores = personalized_pagerank(transition(graph), reset, damping=0.5, iterations=500, tol=1e-14)

    assert np.allclose(scores, exact_ppr(p, reset, 0.5), atol=1e-10)
    assert scores[3] > scores[4] > 0  # c0 mentions alpha; c1 is one hop further
    assert scores[2] == 0  # nothing reaches the unconnected entity


# --------------------------------------------------------------------------- entities


KEYS = ["red apple", "green apple", "apple pie", "red car", "blue sky"]


def test_similar_entities_scores_by_jaccard_of_words() -> None:
    graph = make_graph(KEYS, 0, [])

    found = graph.similar_entities("red apple", min_score=0.3)

    assert found == {0: 1.0, 1: pytest.approx(1 / 3), 2: pytest.approx(1 / 3), 3: pytest.approx(1 / 3)}


def test_similar_entities_below_the_minimum_score_are_left_out() -> None:
    graph = make_graph(KEYS, 0, [])

    assert graph.similar_entities("red apple", min_score=0.5) == {0: 1.0}
    assert graph.similar_entities("yellow submarine", min_score=0.0) == {}


def test_a_word_shared_by_too_many_entities_does_not_link() -> None:
    graph = make_graph(KEYS, 0, [])

    found = graph.similar_entities("red apple", min_score=0.3, max_postings=2)

    # "apple" names 3 entities, more than 2: only entities sharing "red" are candidates
    assert found == {0: 1.0, 3: pytest.approx(1 / 3)}


def test_graph_indexes_find_entities_and_chunks_by_id_and_key() -> None:
    graph = make_graph(KEYS, 3, [])

    assert graph.size == 8
    assert graph.entity_by_key["apple pie"] == 2
    assert graph.entity_index["e4"] == 4
    assert graph.chunk_index["c2"] == 2
    assert sorted(graph.token_index["apple"]) == [0, 1, 2]


def test_chunk_frequency_counts_the_chunks_mentioning_each_entity() -> None:
    graph = make_graph(["a", "b", "c", "d"], 3, [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1)])

    np.testing.assert_array_equal(graph.chunk_frequency(), [3, 2, 0, 0])
    assert graph.chunk_frequency().dtype == np.float64
