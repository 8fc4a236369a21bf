"""How graph search turns seeds into a walk and a walk into ranked chunks, on hand-made graphs.

These are the steps between the query's entities (or the dense hits) and the chunks a user
sees: the reset vectors PPR starts from, the seeds taken from dense hits when the query names
no known entity, and the cut of the walk's scores into at most ``depth`` chunks.

Ties, as the code stands: ``_chunk_ranking`` keeps the ``depth`` best chunks with numpy's
default ``argsort``, which is not stable, so when equal scores straddle the cut, which of
the tied chunks are kept is fixed for a given input on a given machine but is not the
chunks' order in the graph. The scores come back as a dict whose order is not the ranking;
``Searcher`` sorts it by score (a stable sort), so equal scores reach the user in that
dict's order.
"""

from __future__ import annotations

import numpy as np
import pytest

import cognition.search as search
from cognition.graphrank import EntityGraph
from tests.unit.cognition.test_graphrank import make_graph

# e0 "rare" in one chunk, e1 "common" in four, e2 "unmentioned" in none;
# c0 mentions e0 and e1, c1..c3 mention e1, c4 mentions nothing.
MENTIONS = [(0, 0), (0, 1), (1, 1), (2, 1), (3, 1)]


def graph() -> EntityGraph:
    return make_graph(["rare", "common", "unmentioned"], 5, MENTIONS)


def ranked(scores: dict[str, float]) -> search._Ranked:
    return search._Ranked(scores)


def best_first(result: search._Ranked) -> list[str]:
    """The order a user sees (``Searcher`` sorts the chunk scores the same way)."""
    return [cid for cid, _ in sorted(result.scores.items(), key=lambda kv: -kv[1])]


# --------------------------------------------------------------------------- entity reset


def test_entity_reset_weights_a_rare_entity_above_a_common_one() -> None:
    reset = search._entity_reset(graph(), {0: 1.0, 1: 1.0})

    # 1/1 for the entity in one chunk against 1/4 for the one in four, normalized
    np.testing.assert_allclose(reset, [0.8, 0.2, 0, 0, 0, 0, 0, 0])


def test_entity_reset_scales_with_the_seed_weight() -> None:
    reset = search._entity_reset(graph(), {0: 0.5, 1: 1.0})  # a word-overlap link scores < 1

    assert reset[0] / reset[1] == pytest.approx((0.5 / 1) / (1.0 / 4))
    assert reset.sum() == pytest.approx(1.0)


def test_an_entity_no_chunk_mentions_counts_as_mentioned_once() -> None:
    reset = search._entity_reset(graph(), {2: 1.0, 0: 1.0})

    np.testing.assert_allclose(reset[:3], [0.5, 0, 0.5])


def test_no_seeds_give_an_empty_entity_reset() -> None:
    reset = search._entity_reset(graph(), {})

    assert reset.shape == (8,)
    assert not reset.any()


# --------------------------------------------------------------------------- passage reset


def test_passage_reset_min_max_normalizes_the_dense_similarities() -> None:
    reset = search._passage_reset(graph(), ranked({"c0": 0.9, "c1": 0.7, "c2": 0.5}))

    # 0.9, 0.7, 0.5 -> 1, 0.5, 0 -> / 1.5; the weakest hit gets no mass
    np.testing.assert_allclose(reset, [0, 0, 0, 2 / 3, 1 / 3, 0, 0, 0])


def test_passage_reset_ignores_hits_outside_the_graph() -> None:
    with_stranger = search._passage_reset(graph(), ranked({"c0": 0.9, "c1": 0.5, "elsewhere": 0.99}))
    without = search._passage_reset(graph(), ranked({"c0": 0.9, "c1": 0.5}))

    np.testing.assert_array_equal(with_stranger, without)


def test_equal_similarities_share_the_passage_reset_equally() -> None:
    reset = search._passage_reset(graph(), ranked({"c1": 0.4, "c3": 0.4}))

    np.testing.assert_allclose(reset, [0, 0, 0, 0, 0.5, 0, 0.5, 0])


def test_a_single_dense_hit_gets_all_the_passage_mass() -> None:
    reset = search._passage_reset(graph(), ranked({"c4": 0.1}))

    np.testing.assert_allclose(reset, [0, 0, 0, 0, 0, 0, 0, 1.0])


def test_no_dense_hits_give_an_empty_passage_reset() -> None:
    assert not search._passage_reset(graph(), ranked({})).any()
    assert not search._passage_reset(graph(), ranked({"elsewhere": 0.9})).any()


# --------------------------------------------------------------------------- seeds from chunks


def test_seeds_from_chunks_are_the_entities_those_chunks_mention() -> None:
    assert search._seeds_from_chunks(graph(), ["c0"]) == {0: 1.0, 1: 1.0}
    assert search._seeds_from_chunks(graph(), ["c2", "c3"]) == {1: 1.0}


def test_seeds_from_unknown_or_silent_chunks_are_none() -> None:
    assert search._seeds_from_chunks(graph(), []) == {}
    assert search._seeds_from_chunks(graph(), ["elsewhere", "c4"]) == {}


# --------------------------------------------------------------------------- chunk ranking


def scores_of(entities: list[float], chunks: list[float]) -> np.ndarray:
    return np.array(entities + chunks, dtype=np.float64)


def test_chunk_ranking_keeps_the_best_depth_chunks_by_score() -> None:
    scores = scores_of([0.1, 0.1, 0.0], [0.1, 0.4, 0.05, 0.3, 0.2])

    result = search._chunk_ranking(graph(), scores, {}, depth=3)

    assert best_first(result) == ["c1", "c3", "c4"]
    assert result.scores == {"c1": 0.4, "c3": 0.3, "c4": 0.2}


def test_chunks_the_walk_never_reached_are_not_ranked() -> None:
    scores = scores_of([0.5, 0.1, 0.0], [0.3, 0.0, 0.1, 0.0, 0.0])

    result = search._chunk_ranking(graph(), scores, {}, depth=10)

    assert best_first(result) == ["c0", "c2"]


def test_a_chunk_lists_seed_entities_first_then_the_others_by_score() -> None:
    g = make_graph(["a", "b", "c", "d"], 1, [(0, 0), (0, 1), (0, 2), (0, 3)])
    scores = scores_of([0.01, 0.3, 0.2, 0.0], [0.5])  # "d" is unreached and no seed

    result = search._chunk_ranking(g, scores, {0: 1.0}, depth=5)

    assert result.entities == {"c0": ["A", "B", "C"]}


def test_a_seed_the_walk_left_at_zero_is_still_reported() -> None:
    g = make_graph(["a", "b"], 1, [(0, 0), (0, 1)])

    result = search._chunk_ranking(g, scores_of([0.0, 0.2], [0.5]), {0: 1.0}, depth=5)

    assert result.entities == {"c0": ["A", "B"]}


def test_a_chunk_reports_at_most_ten_entities_the_best_scored() -> None:
    g = make_graph([f"e{i}" for i in range(12)], 1, [(0, i) for i in range(12)])
    scores = scores_of([0.01 * (i + 1) for i in range(12)], [0.5])

    result = search._chunk_ranking(g, scores, {}, depth=5)

    assert result.entities["c0"] == [f"E{i}" for i in range(11, 1, -1)]


def test_ties_at_the_depth_cut_keep_depth_chunks_and_the_same_ones_each_time() -> None:
    chunks = [0.2, 0.5, 0.9, 0.5, 0.2, 0.9, 0.5, 0.5, 0.2, 0.5, 0.9, 0.2, 0.5, 0.9, 0.2, 0.5]
    g = make_graph(["a"], len(chunks), [])
    scores = scores_of([0.0], chunks)

    first = search._chunk_ranking(g, scores, {}, depth=6)
    again = search._chunk_ranking(g, scores, {}, depth=6)

    kept = sorted(first.scores.values(), reverse=True)
    assert kept == [0.9, 0.9, 0.9, 0.9, 0.5, 0.5]  # every better chunk, then 2 of the 7 tied
    assert best_first(again) == best_first(first)
