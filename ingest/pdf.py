"""Reading PDF books with pypdf, page by page.

Everything here is synchronous and CPU-bound: callers run it in a worker thread or in the
reader's child process, never on the event loop. A book is identified by the sha256 of its
bytes, and what is read is what was hashed:

- ``open_book`` checks, hashes and parses the file through one open handle.
- ``iter_pages`` opens the file once, copies it into a private anonymous temporary file
  while hashing what it copies, and parses only that copy, after checking that its sha256
  is the book's. A book renamed over (a new inode at the path) or rewritten in place (same
  inode, other bytes) after it was hashed fails with ``SourceChanged`` before any page is
  given out; a change while its pages are read cannot reach the copy. The copy is on disk,
  not in memory: pypdf reads the objects it needs from it (given a path, pypdf reads the
  whole file into memory), so a 100 MB book does not cost the reader 100 MB (on a tmpfs
  TMPDIR the copy is in RAM, though not the reader's). Hashing and copying 100 MB takes
  about 0.3 s, once per book; the kernel frees the copy when the reader closes it or dies.
  (Parsing the original through the handle that hashed it would cover a rename but not a
  rewrite in place: pypdf reads lazily, between pages.)

Each page comes with its printed number when that is not its position (``page_labels``),
and a book with the title a person would cite (``titles``).

One pass: one ``PdfReader`` per book, so the cross-reference table and the page tree are
parsed once. Opening a fresh reader every few hundred pages, as this module once did, cost
pages x file size (a 50,000-page book: 250 parses of a 50,000-entry table and page tree).
pypdf keeps every object it parses, so memory would grow with the book instead; every
``_TRIM_EVERY`` pages the objects parsed for those pages are forgotten (the page tree is
kept), which keeps memory as flat as reopening did.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError
from pypdf.generic import DictionaryObject, PdfObject
from pypdf.generic._font import Font

from cognition.errors import (
    DocumentError,
    EmptyFile,
    EncryptedPdf,
    NotAPdf,
    SourceChanged,
    SourceUnreadable,
    TooManyPages,
    UnreadablePdf,
)
from cognition.settings import ImportSettings
from ingest.page_labels import declared_labels, with_printed_numbers
from ingest.titles import book_title

_HEADER_WINDOW = 1024
_BLOCK = 1 << 20
_TRIM_EVERY = 200  # pages; pypdf keeps what it parsed, forgetting it keeps memory flat
_MAX_PAGES = ImportSettings().max_pages
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

_Parsed = dict[tuple[Any, Any], PdfObject | None]  # PdfReader.resolved_objects
_T = TypeVar("_T")


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark of the PDF outline: where a chapter or section starts."""

    page: int  # 1-based
    level: int  # 0 = chapter
    title: str


@dataclass(frozen=True)
class PageText:
    """The text layer of one page."""

    number: int  # 1-based
    text: str
    label: str | None = None  # the printed page number, when it is not ``number`` (see page_labels)


@dataclass
class PdfBook:
    """What is known about a PDF before its pages are read."""

    path: Path
    content_hash: str
    size_bytes: int
    page_count: int
    title: str
    author: str | None
    outline: list[OutlineEntry] = field(default_factory=list)
    password: str | None = None


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    with path.open("rb") as handle:
        return _sha256(handle)


def open_book(path: Path, password: str | None = None, max_pages: int = _MAX_PAGES) -> PdfBook:
    """Check a file is a readable PDF of at most ``max_pages`` pages and read its metadata
    and outline, all from one open handle.

    Raises a ``DocumentError`` subclass that says what is wrong with the file.
    """
    with _open_source(path) as handle:
        size = _check_pdf(handle, path)
        handle.seek(0)
        content_hash = _read(path, lambda: _sha256(handle))
        handle.seek(0)
        reader = _reader(handle, path.name, password)
        page_count = _page_count(reader)
        if page_count > max_pages:
            raise TooManyPages(
                f"{path.name} has {page_count} pages, more than the limit of {max_pages} "
                "(COGNITION_IMPORTS__MAX_PAGES)"
            )
        meta = _metadata(reader)
        outline = read_outline(reader)
        title = book_title(meta.get("title"), reader, path)  # may read the first page
    return PdfBook(
        path=path,
        content_hash=content_hash,
        size_bytes=size,
        page_count=page_count,
        title=title,
        author=meta.get("author"),
        outline=outline,
        password=password,
    )


def iter_pages(book: PdfBook, start: int = 1) -> Iterator[PageText]:
    """Yield the text of each page from ``start`` (1-based), parsed in one pass from a
    private copy of the bytes whose sha256 is ``book.content_hash``.

    Raises ``SourceChanged``, before the first page, if the file's bytes are no longer those.
    """
    with _private_copy(book.path, book.content_hash) as copy:
        reader = _reader(copy, book.path.name, book.password)
        _page_count(reader)  # parses the page tree, which is kept while the pages are read
        labels = declared_labels(reader)
        page_tree: _Parsed = dict(reader.resolved_objects)
        pages = _pages(reader, page_tree, start, book.page_count, labels)
        yield from pages if labels is not None else with_printed_numbers(pages)


def _pages(
    reader: PdfReader, page_tree: _Parsed, start: int, last: int, labels: list[str | None] | None
) -> Iterator[PageText]:
    for number in range(start, last + 1):
        if number > start and (number - start) % _TRIM_EVERY == 0:
            _forget_parsed_pages(reader, page_tree)
        label = labels[number - 1] if labels is not None and number <= len(labels) else None
        yield PageText(number=number, text=_page_text(reader, number), label=label)


def _open_source(path: Path) -> IO[bytes]:
    try:
        if not path.is_file():
            raise SourceUnreadable(f"{path} is not a regular file")
        return path.open("rb")
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from exc


def _check_pdf(handle: IO[bytes], path: Path) -> int:
    """The size of the open file, which must be a non-empty PDF."""
    found = _read(path, lambda: os.fstat(handle.fileno()))
    if not stat.S_ISREG(found.st_mode):
        raise SourceUnreadable(f"{path} is not a regular file")
    if found.st_size == 0:
        raise EmptyFile(str(path))
    if b"%PDF-" not in _read(path, lambda: handle.read(_HEADER_WINDOW)):
        raise NotAPdf(f"{path.name} has no PDF header")
    return found.st_size


def _read(path: Path, step: Callable[[], _T]) -> _T:
    """``step()``, an I/O step on the book's file, with an OSError told as ``SourceUnreadable``."""
    try:
        return step()
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from exc


def _sha256(handle: IO[bytes], copy: IO[bytes] | None = None) -> str:
    """The sha256 of the rest of ``handle``, read in blocks (each written to ``copy`` too)."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(_BLOCK), b""):
        digest.update(block)
        if copy is not None:
            copy.write(block)
    return digest.hexdigest()


@contextmanager
def _private_copy(path: Path, content_hash: str) -> Iterator[IO[bytes]]:
    """The file's bytes copied once into an anonymous temporary file, which nothing else
    can change; ``SourceChanged`` unless their sha256 is ``content_hash``."""
    with _open_source(path) as source, tempfile.TemporaryFile(prefix="cognition-pdf-") as copy:
        copied = _read(path, lambda: _sha256(source, copy))
        if copied != content_hash:
            raise SourceChanged(
                f"{path.name}: its bytes now have sha256 {copied[:12]}…, "
                f"not {content_hash[:12]}… as when it was hashed for this import"
            )
        copy.seek(0)
        yield copy


def _page_count(reader: PdfReader) -> int:
    try:
        count = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadablePdf(f"page tree cannot be read ({exc})") from exc
    if count == 0:
        raise UnreadablePdf("the document has no pages")
    return count


def _forget_parsed_pages(reader: PdfReader, page_tree: _Parsed) -> None:
    """Drop what pypdf parsed since the page tree (contents, resources, fonts): the next
    pages parse what they need again, from the cross-reference table already read."""
    reader.resolved_objects = dict(page_tree)
    reader.__dict__.pop("_cognition_fonts", None)


def _reader(stream: IO[bytes], name: str, password: str | None) -> PdfReader:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(stream, strict=False)
    except FileNotDecryptedError as exc:
        raise EncryptedPdf(name) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadablePdf(f"{name}: {exc}") from exc
    except OSError as exc:
        raise SourceUnreadable(f"{name}: {exc}") from exc
    if reader.is_encrypted:
        _decrypt(reader, name, password)
    return reader


def _decrypt(reader: PdfReader, name: str, password: str | None) -> None:
    try:
        opened = reader.decrypt(password or "")
    except (PyPdfError, NotImplementedError) as exc:
        raise EncryptedPdf(f"{name}: {exc}") from exc
    if not opened:
        if password:
            raise EncryptedPdf(f"{name}: the password given is wrong")
        raise EncryptedPdf(name)


def _metadata(reader: PdfReader) -> dict[str, str]:
    try:
        info = reader.metadata
    except (PyPdfError, ValueError, KeyError, TypeError):
        return {}
    if not info:
        return {}
    found: dict[str, str] = {}
    for key, name in (("/Title", "title"), ("/Author", "author")):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            found[name] = _clean(value)
    return found


def read_outline(reader: PdfReader) -> list[OutlineEntry]:
    """The outline flattened to (page, level, title), in page order; empty if absent."""
    try:
        entries = list(_walk_outline(reader, reader.outline, 0))
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return []
    return sorted(entries, key=lambda e: e.page)


def _walk_outline(reader: PdfReader, items: list[Any], level: int) -> Iterator[OutlineEntry]:
    for item in items:
        if isinstance(item, list):
            yield from _walk_outline(reader, item, level + 1)
            continue
        page = reader.get_destination_page_number(item)
        title = _clean(str(getattr(item, "title", "") or ""))
        if page is not None and page >= 0 and title:
            yield OutlineEntry(page=page + 1, level=level, title=title)


def _page_text(reader: PdfReader, number: int) -> str:
    try:
        return _clean(reader.pages[number - 1].extract_text() or "")
    except DocumentError:
        raise
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadablePdf(f"page {number} cannot be read ({exc})") from exc


# pypdf rebuilds every font of a page, its ToUnicode map parsed again, on every page that
# uses it: 15 % of reading the shared books. A font is a PDF object; one reader resolves it
# to the same dictionary on every page, so its Font is built once per reader and kept on
# the reader (dropped with it, or when it forgets the pages it parsed). A font that is not
# an indirect object is built each time, as before. Every page of the three shared books
# reads the same either way (checked once; a test compares git-internals). pypdf only
# changes a built Font's ``space_width``, to the same value each time when ``extract_text``
# is called with its default, as here.
_PYPDF_FONT_FROM_RESOURCE = Font.from_font_resource


def _font_built_once_per_reader(cls: type[Font], font: DictionaryObject) -> Font:
    reference = getattr(font, "indirect_reference", None)
    reader = getattr(reference, "pdf", None)
    if reference is None or not isinstance(reader, PdfReader):
        return _PYPDF_FONT_FROM_RESOURCE(font)
    built: dict[tuple[int, int], Font] = reader.__dict__.setdefault("_cognition_fonts", {})
    key = (reference.idnum, reference.generation)
    if key not in built:
        built[key] = _PYPDF_FONT_FROM_RESOURCE(font)
    return built[key]


Font.from_font_resource = classmethod(_font_built_once_per_reader)  # type: ignore[method-assign,assignment]


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text).replace("\u00ad", "").strip()
