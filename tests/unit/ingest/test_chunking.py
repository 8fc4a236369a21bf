"""Chunks know their section (from the outline) and their pages, and carry no page furniture."""

from __future__ import annotations

import itertools
import re

from cognition.settings import ChunkingSettings
from ingest.chunking import Chunk, chunk_pages
from ingest.pdf import OutlineEntry, PageText, iter_pages, open_book
from tests.helpers import BOOKS


def words(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(count))


def chunk(
    pages: list[PageText],
    outline: list[OutlineEntry],
    target: int = 50,
    overlap: int = 10,
    max_chars: int = ChunkingSettings().max_chars,
) -> list[Chunk]:
    return list(chunk_pages(pages, outline, target, overlap, max_chars))


def words_of(chunk: Chunk, prefix: str) -> list[str]:
    return re.findall(rf"\b{prefix}\d+\b", chunk.text)


OUTLINE = [
    OutlineEntry(page=1, level=0, title="Objects"),
    OutlineEntry(page=1, level=1, title="Blobs"),
    OutlineEntry(page=2, level=1, title="Trees"),
    OutlineEntry(page=4, level=0, title="Branches"),
]
PAGES = [
    PageText(1, f"Objects\n{words('intro', 30)}\nBlobs\n{words('blob', 80)}"),
    PageText(2, f"{words('blob', 40)}\nTrees\n{words('tree', 60)}"),
    PageText(3, words("tree", 55)),
    PageText(4, f"Branches\n{words('branch', 90)}"),
]


def test_chunks_carry_the_section_path_of_the_outline() -> None:
    chunks = chunk(PAGES, OUTLINE)
    by_prefix = {
        prefix: {c.section for c in chunks if words_of(c, prefix)}
        for prefix in ("intro", "blob", "tree", "branch")
    }

    assert by_prefix == {
        "intro": {("Objects",)},
        "blob": {("Objects", "Blobs")},
        "tree": {("Objects", "Trees")},
        "branch": {("Branches",)},
    }


def test_chunks_carry_the_pages_their_words_come_from() -> None:
    chunks = chunk(PAGES, OUTLINE)
    trees = [c for c in chunks if c.section == ("Objects", "Trees")]

    assert min(c.page_start for c in trees) == 2
    assert max(c.page_end for c in trees) == 3
    assert any(c.page_start == 2 and c.page_end == 3 for c in trees)  # a chunk may span pages
    assert all(c.page_start == c.page_end == 4 for c in chunks if c.section == ("Branches",))


def test_chunks_are_numbered_in_order_and_lose_no_words() -> None:
    chunks = chunk(PAGES, OUTLINE)
    seen = {w for c in chunks for w in c.text.split()}

    assert [c.index for c in chunks] == list(range(len(chunks)))
    for prefix, count in (("intro", 30), ("blob", 80), ("tree", 55), ("branch", 90)):
        assert {f"{prefix}{i}" for i in range(count)} <= seen


def test_consecutive_chunks_of_a_section_overlap() -> None:
    chunks = [c for c in chunk(PAGES, OUTLINE, target=50, overlap=10) if c.section == ("Branches",)]

    assert len(chunks) >= 2
    assert chunks[0].text.split()[-10:] == chunks[1].text.split()[:10]


def test_no_chunk_spans_two_sections() -> None:
    for c in chunk(PAGES, OUTLINE):
        prefixes = {p for p in ("intro", "blob", "tree", "branch") if words_of(c, p)}
        assert len(prefixes) == 1, (c.section, c.text[:120])


def test_no_chunk_spans_two_sections_when_a_section_ends_on_a_chunk_boundary() -> None:
    # "Alpha" holds exactly one chunk's worth of words: the overlap kept for the next chunk
    # of Alpha must not be carried into Beta's first chunk.
    outline = [OutlineEntry(1, 0, "Alpha"), OutlineEntry(2, 0, "Beta")]
    pages = [PageText(1, f"Alpha\n{words('alpha', 49)}"), PageText(2, f"Beta\n{words('beta', 60)}")]

    chunks = chunk(pages, outline, target=50, overlap=10)
    beta = [c for c in chunks if c.section == ("Beta",)]

    assert beta
    assert all(not words_of(c, "alpha") for c in beta), beta[0].text[:120]
    assert all(c.page_start == 2 for c in beta)


def test_without_an_outline_numbered_headings_make_the_sections() -> None:
    pages = [
        PageText(1, f"1 Getting Started\n{words('start', 40)}\n1.1 Installing Git\n{words('install', 40)}"),
        PageText(2, f"2 Branching Basics\n{words('branch', 40)}"),
    ]

    chunks = chunk(pages, [])
    sections = {p: {c.section for c in chunks if words_of(c, p)} for p in ("start", "install", "branch")}

    assert sections == {
        "start": {("1 Getting Started",)},
        "install": {("1 Getting Started", "1.1 Installing Git")},
        "branch": {("2 Branching Basics",)},
    }


def test_running_headers_and_footers_are_dropped_from_every_page() -> None:
    pages = [
        PageText(n, f"Chapter 3: Basic Shell Features {n}\n{words(f'p{n}w', 40)}\nPage {n} of 6")
        for n in range(1, 7)
    ]

    chunks = chunk(pages, [], target=60, overlap=0)
    text = " ".join(c.text for c in chunks)

    assert "Basic Shell Features" not in text
    assert not re.search(r"Page \d of 6", text)
    assert sum(len(c.text.split()) for c in chunks) == 6 * 40


def test_running_headers_are_dropped_from_the_third_page_on() -> None:
    pages = [PageText(n, f"Git Internals {n}\n{words(f'p{n}w', 40)}\nby Scott Chacon") for n in range(1, 7)]

    chunks = chunk(pages, [], target=60, overlap=0)
    later = [c for c in chunks if c.page_start >= 3]

    assert later
    assert all("Git Internals" not in c.text and "Scott Chacon" not in c.text for c in later)


def test_words_broken_by_a_hyphen_at_a_line_end_are_joined() -> None:
    chunks = chunk([PageText(1, f"{words('x', 30)} the reposi-\ntory keeps objects {words('y', 30)}")], [])

    assert "repository" in chunks[0].text
    assert "reposi-" not in chunks[0].text


def test_a_page_without_text_gives_no_chunk() -> None:
    assert chunk([PageText(1, ""), PageText(2, "   \n ")], []) == []


# --------------------------------------------------------------------------- size in characters


def test_one_2_mb_word_is_cut_into_chunks_of_at_most_max_chars() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(2_000_000))

    chunks = chunk([PageText(1, f"before {word} after")], [], target=150, overlap=20, max_chars=2000)

    assert max(len(c.text) for c in chunks) <= 2000
    assert "".join(c.text for c in chunks).replace(" ", "") == f"before{word}after"  # nothing twice
    assert len(chunks) == 1001


def test_long_words_make_chunks_of_at_most_max_chars_that_lose_no_word() -> None:
    text = words("averyveryverylongidentifier_with_a_long_suffix_", 400)  # ~50 characters a word

    chunks = chunk([PageText(1, text)], [], target=150, overlap=20, max_chars=2000)
    seen = {w for c in chunks for w in c.text.split()}

    assert max(len(c.text) for c in chunks) <= 2000
    assert seen == set(text.split())
    assert chunks[0].text.split()[-20:] == chunks[1].text.split()[:20]  # still overlapping


def test_the_cap_leaves_normal_text_as_it_was() -> None:
    uncapped = chunk(PAGES, OUTLINE, target=50, overlap=10, max_chars=10**9)

    assert chunk(PAGES, OUTLINE, target=50, overlap=10) == uncapped


def test_the_cap_leaves_real_book_pages_as_they_were() -> None:
    # TLCL's table of contents (pages 2-14): its dot leaders make the longest chunks of the
    # bench books, up to 5,858 characters.
    pages = list(itertools.islice(iter_pages(open_book(BOOKS / "TLCL-19.01.pdf")), 20))
    sizes = ChunkingSettings()

    capped = list(chunk_pages(pages, [], sizes.target_words, sizes.overlap_words, sizes.max_chars))

    assert capped == list(chunk_pages(pages, [], sizes.target_words, sizes.overlap_words, 10**9))
    assert max(len(c.text) for c in capped) > 4000
