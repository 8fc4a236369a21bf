"""Source files: which files a path names, what kind each is, and opening one for reading."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from cognition.errors import SourceChanged
from cognition.settings import ChunkingSettings
from ingest.chunking import Chunk, chunk_pages
from ingest.manifest import expand_paths
from ingest.pdf import PdfBook, open_book
from ingest.reader import read_pages
from ingest.text import open_text

Chunks = Callable[[], Iterator[Chunk]]


def collect_files(paths: Sequence[Path], kind: str | None = None) -> list[tuple[Path, str]]:
    """Files to import with their kind; folders are searched recursively for PDFs and text."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found += [(p, "pdf") for p in expand_paths([str(path)], Path("."), "pdf")]
            found += [(p, "text") for p in expand_paths([str(path)], Path("."), "text")]
        else:
            found.append((path, kind or kind_of(path)))
    return found


def kind_of(path: Path) -> str:
    return "text" if path.suffix.lower() in (".md", ".markdown", ".txt") else "pdf"


def open_source(
    path: Path, kind: str, password: str | None, sizes: ChunkingSettings, max_pages: int, content_hash: str
) -> tuple[PdfBook, Chunks]:
    """Open a source file: what is known of it before reading, and a factory of its chunks.

    ``content_hash`` is the hash the import planned with: a file replaced since fails with
    ``SourceChanged`` (the PDF reader checks the bytes it reads against it again)."""
    words, overlap, cap = sizes.target_words, sizes.overlap_words, sizes.max_chars
    if kind == "text":
        book, page = open_text(path)
        _same(book, content_hash)
        return book, lambda: chunk_pages([page], book.outline, words, overlap, cap)
    book = open_book(path, password, max_pages)
    _same(book, content_hash)
    return book, lambda: chunk_pages(read_pages(book), book.outline, words, overlap, cap)


def _same(book: PdfBook, content_hash: str) -> None:
    if book.content_hash != content_hash:
        raise SourceChanged(f"{book.path.name}: its bytes now have sha256 {book.content_hash}")
