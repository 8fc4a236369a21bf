"""Printed page numbers: read from a PDF's own labels, else from the number printed on each
page, and carried by every chunk of the pages."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfWriter

from ingest.chunking import chunk_pages
from ingest.page_labels import printed_candidates, with_printed_numbers
from ingest.pdf import PageText, iter_pages, open_book
from tests.helpers import BOOKS, GIT_INTERNALS, write_excerpt


def labels_of(path: Path) -> list[str | None]:
    return [page.label for page in iter_pages(open_book(path))]


def test_the_linux_command_lines_pdf_page_81_is_its_printed_page_57(tmp_path: Path) -> None:
    # The book declares no /PageLabels: its numbers are printed at the foot of each page.
    excerpt = write_excerpt(BOOKS / "TLCL-19.01.pdf", range(79, 84), tmp_path / "t.pdf", "TLCL")

    assert labels_of(excerpt) == ["55", "56", "57", "58", "59"]


def test_front_matter_numbered_in_roman_is_labelled_so(tmp_path: Path) -> None:
    excerpt = write_excerpt(BOOKS / "TLCL-19.01.pdf", range(1, 6), tmp_path / "t.pdf", "TLCL")

    # the cover and the copyright page print no number
    assert labels_of(excerpt) == [None, None, "i", "ii", "iii"]


def test_a_number_at_the_end_of_a_running_header_is_the_page_number(tmp_path: Path) -> None:
    # Bash Reference Manual: "3" alone, then "Chapter 2: Definitions 4", …
    excerpt = write_excerpt(BOOKS / "bashref.pdf", range(9, 13), tmp_path / "b.pdf", "Bash")

    assert labels_of(excerpt) == ["3", "4", "5", "6"]


def test_printed_numbers_equal_to_the_positions_are_no_labels() -> None:
    assert labels_of(GIT_INTERNALS)[75:85] == [None] * 10


def test_labels_the_pdf_declares_are_used_and_the_positions_dropped(tmp_path: Path) -> None:
    source = write_excerpt(GIT_INTERNALS, range(1, 6), tmp_path / "g.pdf", "Git")
    writer = PdfWriter(clone_from=source)
    writer.set_page_label(0, 1, style="/r")  # i, ii
    writer.set_page_label(2, 4, style="/D", start=3)  # 3, 4, 5: as the positions
    labelled = tmp_path / "labelled.pdf"
    writer.write(labelled)

    assert labels_of(labelled) == ["i", "ii", None, None, None]


def test_a_table_of_contents_line_ending_in_a_number_is_not_a_page_number() -> None:
    pages = [
        PageText(3, "Contents\nIntroduction . . . 1\nQuote Removal . . . 41"),
        PageText(4, "Contents\nRedirections . . . 44\nAliases . . . 90"),
    ]

    assert [p.label for p in with_printed_numbers(iter(pages))] == [None, None]


def test_candidates_are_edge_lines_and_their_first_or_last_word() -> None:
    found = printed_candidates("Chapter 4: Shell Builtin Commands 75\nbody text 12 here\nxiv")

    assert [(kind, value) for kind, value, _ in found] == [("roman", 14), ("arabic", 75)]


def test_a_chunk_carries_the_labels_of_its_first_and_last_page() -> None:
    pages = [
        PageText(n, " ".join(f"p{n}w{i}" for i in range(30)), label) for n, label in [(1, "57"), (2, "58")]
    ]
    unlabelled = [PageText(3, "more words " * 60)]

    chunks = list(chunk_pages([*pages, *unlabelled], [], target_words=60, overlap_words=0))

    assert [(c.page_start, c.page_end, c.page_label_start, c.page_label_end) for c in chunks] == [
        (1, 2, "57", "58"),
        (3, 3, None, None),
        (3, 3, None, None),
    ]
