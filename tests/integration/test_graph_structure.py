"""The graph a book becomes: Document → Section → Chunk → Page, chunk → Entity mentions and
entity relations; and every hit of a search cites its book, section and pages."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from cognition.search import MODES, Searcher
from cognition.store.port import Store
from ingest.pdf import open_book
from tests.helpers import GIT_INTERNALS_PAGES, ImportedBook

pytestmark = pytest.mark.slow

STRUCTURE = {
    ("Document", "has_section", "Section"),
    ("Section", "has_subsection", "Section"),
    ("Section", "has_chunk", "Chunk"),
    ("Document", "has_page", "Page"),
    ("Chunk", "on_page", "Page"),
    ("Chunk", "mentions", "Entity"),
}


async def query(store: Store, dataset: str, cypher: str) -> list[tuple[Any, ...]]:
    """Read the dataset's own graph (cognee's graph engine, entered through the store)."""
    async with store._context(dataset) as (graph, _):  # type: ignore[attr-defined]
        return list(await graph.query(cypher))


def props(raw: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(raw)
    return value


async def edge_counts(store: Store, dataset: str) -> Counter[tuple[str, str, str]]:
    rows = await query(
        store,
        dataset,
        "MATCH (a:Node)-[r:EDGE]->(b:Node) RETURN a.type, r.relationship_name, b.type, count(*)",
    )
    return Counter({(a, r, b): int(n) for a, r, b, n in rows})


async def test_book_section_chunk_page_and_entity_edges_exist(
    git_internals: ImportedBook, store: Store
) -> None:
    counts = await edge_counts(store, git_internals.dataset)

    assert set(counts) >= STRUCTURE, STRUCTURE - set(counts)
    relations = {r for a, r, b in counts if a == b == "Entity"}
    assert "co_occurs_with" in relations
    assert relations - {"co_occurs_with"}, "no verb relation at all"  # e.g. uses, is_a, points_to
    assert sum(counts.values()) == git_internals.stats.edges


async def test_every_chunk_hangs_under_one_section_and_sits_on_its_pages(
    git_internals: ImportedBook, store: Store
) -> None:
    dataset = git_internals.dataset
    parents = await query(
        store,
        dataset,
        "MATCH (s:Node)-[r:EDGE]->(c:Node) WHERE r.relationship_name = 'has_chunk' "
        "RETURN c.id, s.type, s.name, c.properties",
    )
    pages = await query(
        store,
        dataset,
        "MATCH (c:Node)-[r:EDGE]->(p:Node) WHERE r.relationship_name = 'on_page' RETURN c.id, p.properties",
    )

    assert len(parents) == len({row[0] for row in parents}) == git_internals.stats.chunks
    for _, parent_type, parent_name, raw in parents:
        chunk = props(raw)
        if chunk["section"]:
            assert (parent_type, parent_name) == ("Section", chunk["section"][-1])
        else:
            assert (parent_type, parent_name) == ("Document", "git-internals")
    ranges = {row[0]: (props(row[3])["page_start"], props(row[3])["page_end"]) for row in parents}
    on_pages: dict[str, set[int]] = {}
    for chunk_id, raw in pages:
        on_pages.setdefault(chunk_id, set()).add(props(raw)["number"])
    assert set(on_pages) == set(ranges)
    for chunk_id, (start, end) in ranges.items():
        assert on_pages[chunk_id] == set(range(start, end + 1))


async def test_sections_follow_the_books_outline(git_internals: ImportedBook, store: Store) -> None:
    outline = open_book(git_internals.path).outline
    nested = await query(
        store,
        git_internals.dataset,
        "MATCH (a:Node)-[r:EDGE]->(b:Node) WHERE r.relationship_name IN ['has_section', 'has_subsection'] "
        "RETURN a.type, a.name, r.relationship_name, b.name",
    )
    titles = {e.title for e in outline}
    chapters = {e.title for e in outline if e.level == 0}

    assert {row[3] for row in nested} <= titles
    assert {row[3] for row in nested if row[2] == "has_section"} <= chapters
    assert ("Section", "Understanding Git", "has_subsection", "Git Object Types") in nested
    assert all(row[0] == "Document" for row in nested if row[2] == "has_section")


async def test_pages_are_numbered_within_the_book(git_internals: ImportedBook, store: Store) -> None:
    rows = await query(
        store, git_internals.dataset, "MATCH (p:Node) WHERE p.type = 'Page' RETURN p.properties"
    )
    numbers = sorted(props(raw)["number"] for (raw,) in rows)

    assert numbers == sorted(set(numbers))
    assert numbers[0] >= 1 and numbers[-1] <= GIT_INTERNALS_PAGES
    assert len(numbers) > GIT_INTERNALS_PAGES * 0.9


async def test_every_entity_is_mentioned_and_every_edge_names_its_document(
    git_internals: ImportedBook, store: Store
) -> None:
    dataset = git_internals.dataset
    mentioned = await query(
        store,
        dataset,
        "MATCH (c:Node)-[r:EDGE]->(e:Node) WHERE r.relationship_name = 'mentions' "
        "RETURN count(DISTINCT e.id)",
    )
    [(doc_id,)] = await query(store, dataset, "MATCH (d:Node) WHERE d.type = 'Document' RETURN d.id")
    owners = await query(store, dataset, "MATCH ()-[r:EDGE]->() RETURN r.properties")

    assert mentioned[0][0] == git_internals.stats.entities
    assert {props(raw)["document_id"] for (raw,) in owners} == {doc_id}


@pytest.mark.parametrize("mode", MODES)
async def test_every_hit_cites_book_section_and_pages(
    git_internals: ImportedBook, searcher: Searcher, mode: str
) -> None:
    outline_titles = {e.title for e in open_book(git_internals.path).outline}

    hits = await searcher.search("how are branches and tags stored", [git_internals.dataset], mode, 10)

    assert len(hits) == 10
    for hit in hits:
        assert hit.dataset == git_internals.dataset
        assert hit.document_title == "git-internals"
        assert hit.source == str(git_internals.path.resolve())
        assert hit.section_path and set(hit.section_path) <= outline_titles
        assert 1 <= hit.page_start <= hit.page_end <= GIT_INTERNALS_PAGES
        assert hit.text.strip()
