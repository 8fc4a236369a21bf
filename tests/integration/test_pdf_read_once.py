"""A PDF is read in one pass from the bytes that were hashed.

A book replaced on disk while it is read (renamed over, or rewritten in place) never lends
its text to the first book's hash: the pages read are the first book's, or the document
fails as "changed while importing". A long book is parsed once, not once every few hundred
pages, and a book longer than ``imports.max_pages`` fails before any page is read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

from cognition.errors import SourceChanged, TooManyPages
from cognition.settings import ImportSettings
from ingest import pdf
from ingest.pdf import iter_pages, open_book
from ingest.reader import read_pages
from tests.helpers import BOOKS, GIT_INTERNALS, write_excerpt

Swap = Callable[[Path, Path], None]


def write_numbered(dest: Path, pages: int, label: str, text_every: int = 1) -> Path:
    """A generated PDF: every ``text_every``-th page says "<label> page <n>", the rest are
    blank. Small and quick to read, however many pages."""
    writer = PdfWriter()
    helvetica = {"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica"}
    font = DictionaryObject({NameObject(k): NameObject(v) for k, v in helvetica.items()})
    for number in range(1, pages + 1):
        page = writer.add_blank_page(200, 100)
        if number % text_every == 0:
            content = ContentStream(None, writer)
            content.set_data(f"BT /F1 10 Tf 10 50 Td ({label} page {number}) Tj ET".encode())
            page.replace_contents(content)
            fonts = DictionaryObject({NameObject("/F1"): font})
            page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    with dest.open("wb") as handle:
        writer.write(handle)
    return dest


def rename_over(other: Path, book: Path) -> None:
    """``mv other book``: the path now names another file (another inode)."""
    moved = book.with_name("incoming.tmp")
    shutil.copyfile(other, moved)
    os.replace(moved, book)


def overwrite(other: Path, book: Path) -> None:
    """``cp other book``: the same file (same inode) gets other bytes."""
    inode = book.stat().st_ino
    book.write_bytes(other.read_bytes())
    assert book.stat().st_ino == inode


SWAPS = [pytest.param(rename_over, id="renamed-over"), pytest.param(overwrite, id="overwritten")]


# --------------------------------------------------------------------------- changed files


@pytest.mark.parametrize("swap", SWAPS)
def test_a_book_replaced_after_it_was_hashed_fails_as_changed(
    bench: Path, tmp_path: Path, swap: Swap
) -> None:
    book_path = write_excerpt(GIT_INTERNALS, [12, 13, 14], tmp_path / "book.pdf", "Git Internals, 12-14")
    other = write_excerpt(BOOKS / "bashref.pdf", [20, 21, 22], tmp_path / "other.pdf", "Bash, 20-22")
    book = open_book(book_path)  # what the importer plans with: the hash of the git pages

    swap(other, book_path)
    read: list[str] = []
    with pytest.raises(SourceChanged) as raised:
        read.extend(page.text for page in read_pages(book))  # the child process

    assert read == []  # not one page of the other book under the first one's hash
    assert str(raised.value).startswith("changed while importing: book.pdf")


@pytest.mark.parametrize("swap", SWAPS)
def test_a_book_replaced_while_its_pages_are_read_still_reads_as_itself(tmp_path: Path, swap: Swap) -> None:
    book_path = write_numbered(tmp_path / "alpha.pdf", 250, "alpha")
    other = write_numbered(tmp_path / "omega.pdf", 250, "omega")
    book = open_book(book_path)

    pages = iter_pages(book)
    first = next(pages)
    swap(other, book_path)
    texts = [first.text, *(page.text for page in pages)]

    assert texts == [f"alpha page {n}" for n in range(1, 251)]


# --------------------------------------------------------------------------- long books


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 pages (every other one with a line of text) in well under a megabyte."""
    return write_numbered(tmp_path_factory.mktemp("long") / "long.pdf", 3000, "long", text_every=2)


def test_a_long_book_is_parsed_once(long_book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []

    class CountedReader(PdfReader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(args[0] if args else kwargs.get("stream"))
            super().__init__(*args, **kwargs)

    book = open_book(long_book)
    monkeypatch.setattr(pdf, "PdfReader", CountedReader)
    texts = [page.text for page in iter_pages(book)]

    assert len(built) == 1
    assert len(texts) == 3000
    assert texts[1::2] == [f"long page {n}" for n in range(2, 3001, 2)]
    assert not any(texts[0::2])


def test_a_book_over_the_page_limit_fails_before_reading(long_book: Path) -> None:
    with pytest.raises(TooManyPages) as raised:
        open_book(long_book, max_pages=2999)

    assert str(raised.value) == (
        "too many pages: long.pdf has 3000 pages, more than the limit of 2999 (COGNITION_IMPORTS__MAX_PAGES)"
    )
    assert open_book(long_book, max_pages=3000).page_count == 3000


def test_without_a_limit_given_the_setting_default_applies(tmp_path: Path) -> None:
    limit = ImportSettings().max_pages
    writer = PdfWriter()
    for _ in range(limit + 1):
        writer.add_blank_page(200, 100)
    with (tmp_path / "blank.pdf").open("wb") as handle:
        writer.write(handle)

    with pytest.raises(TooManyPages, match=f"has {limit + 1} pages, more than the limit of {limit} "):
        open_book(tmp_path / "blank.pdf")
