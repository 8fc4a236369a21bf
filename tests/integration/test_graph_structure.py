"""The graph a book becomes, read through the store port (so any backend can be held to it):
Document → Section → Chunk → Page, chunk → Entity mentions and entity relations; and every
hit of a search cites its book, section and pages."""

from __future__ import annotations

import pytest

from cognition.search import MODES, Searcher
from cognition.store.port import Store
from ingest.pdf import open_book
from tests.helpers import GIT_INTERNALS_PAGES, ImportedBook

pytestmark = pytest.mark.slow

STRUCTURE = {"has_section", "has_subsection", "has_chunk", "has_page", "on_page", "mentions"}


async def test_book_section_chunk_page_and_entity_edges_exist(
    git_internals: ImportedBook, store: Store
) -> None:
    counts = await store.counts(git_internals.dataset)

    assert set(counts.edges) >= STRUCTURE, STRUCTURE - set(counts.edges)
    relations = set(counts.edges) - STRUCTURE
    assert "co_occurs_with" in relations
    assert relations - {"co_occurs_with"}, "no verb relation at all"  # e.g. uses, is_a, points_to
    assert sum(counts.edges.values()) == git_internals.stats.edges
    assert counts.nodes["Chunk"] == counts.edges["has_chunk"] == git_internals.stats.chunks
    assert counts.vectors == {"Chunk_text": git_internals.stats.chunks}


async def test_every_chunk_sits_in_a_section_of_the_outline_and_on_its_pages(
    git_internals: ImportedBook, store: Store
) -> None:
    graph = await store.graph(git_internals.dataset)
    chunks = await store.get_chunks(git_internals.dataset, graph.chunk_ids)
    outline = open_book(git_internals.path).outline
    titles, chapters = {e.title for e in outline}, {e.title for e in outline if e.level == 0}
    counts = await store.counts(git_internals.dataset)

    assert len(chunks) == len(graph.chunk_ids) == git_internals.stats.chunks
    assert all(set(c.section_path) <= titles for c in chunks)
    assert all(c.section_path[0] in chapters for c in chunks if c.section_path)
    assert ("Understanding Git", "Git Object Types") in {c.section_path[:2] for c in chunks}
    assert all(1 <= c.page_start <= c.page_end <= GIT_INTERNALS_PAGES for c in chunks)
    assert counts.edges["on_page"] == sum(c.page_end - c.page_start + 1 for c in chunks)
    assert GIT_INTERNALS_PAGES * 0.9 < counts.nodes["Page"] <= GIT_INTERNALS_PAGES


async def test_every_entity_is_mentioned_and_relations_join_entities(
    git_internals: ImportedBook, store: Store
) -> None:
    graph = await store.graph(git_internals.dataset)

    assert len(graph.entity_ids) == git_internals.stats.entities
    assert set(graph.mention_entity.tolist()) == set(range(len(graph.entity_ids)))  # no orphan
    assert set(graph.mention_chunk.tolist()) <= set(range(len(graph.chunk_ids)))
    assert len(graph.relation_source) > 0 and (graph.relation_weight > 0).all()
    [git] = await store.find_entities(git_internals.dataset, ["git"], 1)
    neighbours = await store.neighbours(git_internals.dataset, git.id, 5)
    mentioning = await store.chunks_mentioning(git_internals.dataset, git.id, 3)
    assert git.chunks > 10 and len(neighbours) == 5 and len(mentioning) == 3
    assert [n.weight for n in neighbours] == sorted((n.weight for n in neighbours), reverse=True)
    assert all("git" in c.text.lower() for c in mentioning)


@pytest.mark.parametrize("mode", MODES)
async def test_every_hit_cites_book_section_and_pages(
    git_internals: ImportedBook, searcher: Searcher, mode: str
) -> None:
    outline_titles = {e.title for e in open_book(git_internals.path).outline}

    hits = await searcher.search("how are branches and tags stored", [git_internals.dataset], mode, 10)

    assert len(hits) == 10
    for hit in hits:
        assert hit.dataset == git_internals.dataset
        assert hit.document_title == "Git Internals"
        assert hit.source == str(git_internals.path.resolve())
        assert hit.section_path and set(hit.section_path) <= outline_titles
        assert 1 <= hit.page_start <= hit.page_end <= GIT_INTERNALS_PAGES
        assert hit.text.strip()
