"""Searching an imported book: relevant hits in every mode, as many as asked, clear errors."""

from __future__ import annotations

import pytest

from cognition.errors import SearchError
from cognition.search import MODES, Searcher
from tests.helpers import ImportedBook

pytestmark = pytest.mark.slow

QUESTION = "how does git store a commit object"


@pytest.mark.parametrize("mode", MODES)
async def test_each_mode_finds_passages_about_the_question(
    git_internals: ImportedBook, searcher: Searcher, mode: str
) -> None:
    hits = await searcher.search(QUESTION, [git_internals.dataset], mode, 5)
    texts = [h.text.lower() for h in hits]

    assert len(hits) == 5
    assert any("commit" in t and "object" in t for t in texts), [t[:100] for t in texts]
    assert sum("commit" in t for t in texts) >= 2


@pytest.mark.parametrize("mode", MODES)
async def test_hits_are_best_first_and_unique(
    git_internals: ImportedBook, searcher: Searcher, mode: str
) -> None:
    hits = await searcher.search(QUESTION, [git_internals.dataset], mode, 10)
    scores = [h.score for h in hits]

    assert scores == sorted(scores, reverse=True)
    assert len({h.chunk_id for h in hits}) == len(hits)


@pytest.mark.parametrize("top_k", [1, 3, 12])
async def test_top_k_is_respected(git_internals: ImportedBook, searcher: Searcher, top_k: int) -> None:
    for mode in MODES:
        assert len(await searcher.search(QUESTION, [git_internals.dataset], mode, top_k)) == top_k, mode


async def test_graph_hits_name_the_entities_that_led_to_them(
    git_internals: ImportedBook, searcher: Searcher
) -> None:
    hits = await searcher.search("tree objects and blob objects", [git_internals.dataset], "graph", 5)
    named = {name.lower() for hit in hits for name in hit.entities}

    assert all(hit.entities for hit in hits)
    assert {"tree object", "tree objects", "blob object", "blob objects"} & named, sorted(named)[:20]


async def test_vector_and_graph_rankings_differ(git_internals: ImportedBook, searcher: Searcher) -> None:
    vector = await searcher.search(QUESTION, [git_internals.dataset], "vector", 10)
    graph = await searcher.search(QUESTION, [git_internals.dataset], "graph", 10)

    assert [h.chunk_id for h in vector] != [h.chunk_id for h in graph]


@pytest.mark.parametrize(
    ("query", "mode", "top_k", "message"),
    [
        ("", "vector", 5, "the query is empty"),
        ("   \n", "hybrid", 5, "the query is empty"),
        (QUESTION, "fuzzy", 5, "unknown mode 'fuzzy': use one of vector, graph, hybrid"),
        (QUESTION, "vector", 0, "top-k must be between 1 and 100"),
        (QUESTION, "vector", -3, "top-k must be between 1 and 100"),
        (QUESTION, "graph", 101, "top-k must be between 1 and 100"),
    ],
)
async def test_a_search_that_cannot_run_says_why(
    git_internals: ImportedBook, searcher: Searcher, query: str, mode: str, top_k: int, message: str
) -> None:
    with pytest.raises(SearchError) as error:
        await searcher.search(query, [git_internals.dataset], mode, top_k)

    assert str(error.value) == message


async def test_a_search_must_name_a_dataset(searcher: Searcher) -> None:
    with pytest.raises(SearchError, match="name at least one dataset"):
        await searcher.search(QUESTION, [], "vector", 5)
