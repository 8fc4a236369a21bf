"""Reading PDF books with pypdf, page by page.

Everything here is synchronous and CPU-bound: callers run it in a worker thread, never on
the event loop. A book is identified by the sha256 of its bytes.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError
from pypdf.generic import DictionaryObject
from pypdf.generic._font import Font

from cognition.errors import (
    DocumentError,
    EmptyFile,
    EncryptedPdf,
    NotAPdf,
    SourceUnreadable,
    UnreadablePdf,
)

_HEADER_WINDOW = 1024
_REOPEN_EVERY = 200  # pages; pypdf caches parsed objects, a fresh reader keeps memory flat
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_book(path: Path, password: str | None = None) -> PdfBook:
    """Check a file is a readable PDF and read its metadata and outline.

    Raises a ``DocumentError`` subclass that says what is wrong with the file.
    """
    size = _check_file(path)
    content_hash = sha256_file(path)
    reader = _reader(path, password)
    try:
        page_count = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise UnreadablePdf(f"page tree cannot be read ({exc})") from exc
    if page_count == 0:
        raise UnreadablePdf("the document has no pages")
    meta = _metadata(reader)
    return PdfBook(
        path=path,
        content_hash=content_hash,
        size_bytes=size,
        page_count=page_count,
        title=meta.get("title") or path.stem,
        author=meta.get("author"),
        outline=read_outline(reader),
        password=password,
    )


def iter_pages(book: PdfBook, start: int = 1) -> Iterator[PageText]:
    """Yield the text of each page from ``start`` (1-based), reopening the reader now and
    then so memory stays flat on very long books."""
    reader: PdfReader | None = None
    for number in range(start, book.page_count + 1):
        if reader is None or (number - start) % _REOPEN_EVERY == 0:
            reader = _reader(book.path, book.password)
        yield PageText(number=number, text=_page_text(reader, number))


def _check_file(path: Path) -> int:
    try:
        if not path.is_file():
            raise SourceUnreadable(f"{path} is not a regular file")
        size = path.stat().st_size
        if size == 0:
            raise EmptyFile(str(path))
        with path.open("rb") as handle:
            head = handle.read(_HEADER_WINDOW)
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from exc
    if b"%PDF-" not in head:
        raise NotAPdf(f"{path.name} has no PDF header")
    return size


def _reader(path: Path, password: str | None) -> PdfReader:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path, strict=False)
    except FileNotDecryptedError as exc:
        raise EncryptedPdf(path.name) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadablePdf(f"{path.name}: {exc}") from exc
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc}") from exc
    if reader.is_encrypted:
        _decrypt(reader, path, password)
    return reader


def _decrypt(reader: PdfReader, path: Path, password: str | None) -> None:
    try:
        opened = reader.decrypt(password or "")
    except (PyPdfError, NotImplementedError) as exc:
        raise EncryptedPdf(f"{path.name}: {exc}") from exc
    if not opened:
        if password:
            raise EncryptedPdf(f"{path.name}: the password given is wrong")
        raise EncryptedPdf(path.name)


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
# the reader (dropped with it). A font that is not an indirect object is built each time,
# as before. Every page of the three shared books reads the same either way (checked once;
# a test compares git-internals). pypdf only changes a built Font's ``space_width``, to the
# same value each time when ``extract_text`` is called with its default, as here.
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
