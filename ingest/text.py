"""Reading Markdown and plain-text notes: one page per file, sections from ``#`` headings."""

from __future__ import annotations

import re
from pathlib import Path

from cognition.errors import EmptyFile, SourceUnreadable, UnsupportedContent
from ingest.pdf import OutlineEntry, PageText, PdfBook, sha256_file

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


def open_text(path: Path) -> tuple[PdfBook, PageText]:
    """A text file as a one-page book with an outline from its Markdown headings."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from exc
    if not raw:
        raise EmptyFile(str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedContent(f"{path.name} is not UTF-8 text") from exc
    outline = [
        OutlineEntry(page=1, level=len(m.group(1)) - 1, title=m.group(2)) for m in _HEADING.finditer(text)
    ]
    title = outline[0].title if outline else path.stem
    book = PdfBook(
        path=path,
        content_hash=sha256_file(path),
        size_bytes=len(raw),
        page_count=1,
        title=title,
        author=None,
        outline=outline,
    )
    return book, PageText(number=1, text=text)
