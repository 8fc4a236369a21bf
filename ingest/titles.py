"""A book's title, as a person would cite it, not its file name.

In order: the PDF's ``/Title`` when it reads as a title (TeX and word processors often
write the source file's name there, "bashref.dvi" or "Microsoft Word - draft.doc", or
nothing); else the largest text on the first page (a cover or title page sets the title in
its biggest type: "Git Internals" at 200 pt above "by Scott Chacon" at 36 pt); else the
file's stem.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

_FILE_NAME = re.compile(
    r"\.(dvi|pdf|ps|eps|tex|docx?|odt|rtf|txt|html?|md|indd|qxd|qxp|pptx?|xlsx?|pages|key|wpd)$",
    re.IGNORECASE,
)
_APPLICATION = re.compile(r"^(microsoft\s+\w+|adobe\s+\w+)\s+-\s+", re.IGNORECASE)
_PLACEHOLDERS = {"untitled", "title", "document", "no title", "none", "unknown", "book", "draft"}
_CONTROL = re.compile(r"[\x00-\x1f]")
_MAX_CHARS = 200
_SAME_SIZE = 0.05  # relative: runs within 5% of the largest size are the title's


def book_title(metadata_title: str | None, reader: PdfReader, path: Path) -> str:
    """The title to cite ``path`` by (see the module docstring for the order)."""
    if metadata_title and plausible_title(metadata_title):
        return _tidy(metadata_title)
    found = first_page_title(reader)
    return found if found else path.stem


def plausible_title(text: str) -> bool:
    """Whether a metadata title reads as a title, not a file name, an application's stamp
    or a placeholder."""
    cleaned = _tidy(text)
    if not cleaned or len(cleaned) > _MAX_CHARS or not any(c.isalpha() for c in cleaned):
        return False
    if cleaned.lower() in _PLACEHOLDERS or _APPLICATION.match(cleaned):
        return False
    return not _FILE_NAME.search(cleaned)


def first_page_title(reader: PdfReader) -> str | None:
    """The text set in the largest type on the first page, joined in reading order; None
    when the page has no text or its largest text does not read as a title."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip() and size:
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3]) or 1.0
            runs.append((float(size) * scale, text))

    try:
        reader.pages[0].extract_text(visitor_text=visit)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, ZeroDivisionError):
        return None
    if not runs:
        return None
    largest = max(size for size, _ in runs)
    title = _tidy(" ".join(text for size, text in runs if size >= largest * (1 - _SAME_SIZE)))
    return title if plausible_title(title) else None


def _tidy(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).replace("\u00ad", "").split())
