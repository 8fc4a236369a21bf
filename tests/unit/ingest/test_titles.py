"""A book's title is the one a person would cite, not its file name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfWriter

from ingest.pdf import open_book
from ingest.titles import plausible_title
from tests.helpers import BOOKS, GIT_INTERNALS


def test_the_shared_books_are_titled_as_printed_not_by_file_name() -> None:
    # TLCL's /Title is right; bashref.pdf and git-internals.pdf have none: their cover pages'
    # largest type names them.
    titles = {path.name: open_book(path).title for path in sorted(BOOKS.glob("*.pdf"))}

    assert titles == {
        "TLCL-19.01.pdf": "The Linux Command Line",
        "bashref.pdf": "Bash Reference Manual",
        "git-internals.pdf": "Git Internals",
    }


@pytest.mark.parametrize(
    "title", ["", "   ", "bashref.dvi", "Microsoft Word - report.doc", "untitled", "Untitled", "12345"]
)
def test_a_file_name_a_stamp_or_a_placeholder_is_no_title(title: str) -> None:
    assert not plausible_title(title)


def test_a_metadata_file_name_gives_way_to_the_cover_page(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=GIT_INTERNALS)
    writer.add_metadata({"/Title": "git-internals.indd"})
    path = tmp_path / "renamed-copy.pdf"
    writer.write(path)

    assert open_book(path).title == "Git Internals"


def test_a_page_with_no_text_leaves_the_file_name(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    path = tmp_path / "scan-0042.pdf"
    writer.write(path)

    assert open_book(path).title == "scan-0042"
