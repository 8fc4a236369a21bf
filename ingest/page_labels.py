"""Printed page numbers, so that a citation names the page a reader finds in the book.

A PDF position is not the number printed on the page: page 81 of The Linux Command Line's
file is its printed page 57 (24 pages of front matter come first, numbered i, ii, …). A PDF
may declare its labels (``/PageLabels``, which pypdf reads as ``page_labels``); none of the
shared books does, and many books do not. They print the number instead, as the first or
last line of a page ("57"), or at an end of the running header ("Chapter 2: Definitions 4").
So when a file declares no labels, the number printed on the page is read from its text. A
number found there is trusted only when a neighbouring page has the next or the previous
number of the same kind: a table of contents line ending in "41" is not a page number.

A label is kept only when it differs from the page's position: a book whose printed numbers
are its positions (git-internals) has no labels, and a citation then names one number.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import Protocol, TypeVar

from pypdf import PdfReader
from pypdf.errors import PyPdfError

_ARABIC = re.compile(r"\d{1,5}")
_ROMAN = re.compile(r"m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})", re.IGNORECASE)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}

_Number = tuple[str, int, str]  # kind ("arabic" | "roman"), value, as printed


class _Page(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def number(self) -> int: ...


_P = TypeVar("_P", bound=_Page)


def declared_labels(reader: PdfReader) -> list[str | None] | None:
    """The file's own page labels, None for a page whose label is its position; None when
    the file declares no labels (pypdf then answers "1", "2", …) or they cannot be read."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        if "/PageLabels" not in reader.root_object:
            return None
        labels = reader.page_labels
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return [distinct_label(label, position) for position, label in enumerate(labels, 1)]


def distinct_label(label: str | None, position: int) -> str | None:
    """``label`` stripped, or None when it is empty or just the position."""
    cleaned = (label or "").strip()
    return cleaned if cleaned and cleaned != str(position) else None


def with_printed_numbers(pages: Iterator[_P]) -> Iterator[_P]:
    """``pages``, each with the number printed on it as its label (when it is not its
    position); one page is held back to see the next page's number."""
    previous: list[_Number] = []
    held: tuple[_P, list[_Number]] | None = None
    for page in pages:
        found = printed_candidates(page.text)
        if held is not None:
            yield _labelled(held[0], held[1], previous, found)
            previous = held[1]
        held = (page, found)
    if held is not None:
        yield _labelled(held[0], held[1], previous, [])


def printed_candidates(text: str) -> list[_Number]:
    """Numbers where a page number is printed: a first or last line that is a number, or
    a number that starts or ends the first or last line. Most likely first."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    edges = [lines[0], lines[-1]] if len(lines) > 1 else [lines[0]]
    found: list[_Number] = []
    for line in edges:
        found += _number(line, roman=True)
    for line in edges:
        words = line.split()
        if len(words) > 1:
            found += _number(words[0], roman=False) + _number(words[-1], roman=False)
    return list(dict.fromkeys(found))


def _number(word: str, roman: bool) -> list[_Number]:
    if _ARABIC.fullmatch(word):
        return [("arabic", int(word), word)]
    if roman and _ROMAN.fullmatch(word) and word == word.lower():
        return [("roman", _roman_value(word), word)]
    return []


def _roman_value(word: str) -> int:
    values = [_ROMAN_VALUES[c] for c in word.lower()]
    return sum(-v if v < nxt else v for v, nxt in zip(values, [*values[1:], 0], strict=True))


def _labelled(page: _P, found: list[_Number], previous: list[_Number], following: list[_Number]) -> _P:
    before = {(kind, value + 1) for kind, value, _ in previous}  # the number after the last page's
    after = {(kind, value - 1) for kind, value, _ in following}  # the number before the next page's
    for kind, value, printed in found:
        if (kind, value) in before or (kind, value) in after:
            return dataclasses.replace(page, label=distinct_label(printed, page.number))  # type: ignore[type-var]
    return page
