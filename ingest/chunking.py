"""Cutting a book's pages into chunks that know their section and page range.

Sections come from the PDF outline when it has one, from heading-like lines otherwise.
A chunk never spans two sections (except that a tail of fewer than 25 words, typically the
heading number printed before a section title, opens the next section); it may span pages.
Running headers and footers (the same line at the top or bottom of three or more pages,
page numbers masked) are dropped from every page they are on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ingest.pdf import OutlineEntry, PageText

_HEADING = re.compile(
    r"^(?:(?:chapter|part|appendix)\s+[\w.]+.{0,70}|\d{1,2}(?:\.\d{1,2}){0,3}\s+[A-Z][^.!?]{2,70})$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_MIN_WORDS = 25  # a shorter tail (a heading number, a caption) joins the next section
_LOOKAHEAD = 2  # pages held back to recognise running headers and footers
_RUNNING = 3  # pages an edge line must appear on (this one included) to be a running line


@dataclass(frozen=True)
class Chunk:
    """A piece of a book, with provenance."""

    index: int
    text: str
    page_start: int
    page_end: int
    section: tuple[str, ...]  # outermost first; empty when the book has no structure


@dataclass
class _Open:
    section: tuple[str, ...] = ()
    words: list[tuple[str, int]] = field(default_factory=list)


class Chunker:
    """Stream pages in, get chunks out. One instance per book."""

    def __init__(self, outline: list[OutlineEntry], target_words: int, overlap_words: int) -> None:
        self._starts: dict[int, list[OutlineEntry]] = {}
        for entry in outline:
            self._starts.setdefault(entry.page, []).append(entry)
        self._use_headings = not outline
        self._target = target_words
        self._overlap = min(overlap_words, target_words // 2)
        self._path: list[tuple[int, str]] = []
        self._open = _Open()
        self._index = 0
        self._edge_lines: Counter[str] = Counter()
        self._pending: list[tuple[PageText, list[str]]] = []
        self._fresh = 0  # words added since the last chunk was emitted

    def feed(self, page: PageText) -> Iterator[Chunk]:
        """Chunks completed by this page (pages are held back ``_LOOKAHEAD`` pages, so a running
        header is recognised on its first pages too)."""
        self._pending.append((page, self._edge_keys(page.text)))
        for key in self._pending[-1][1]:
            self._edge_lines[key] += 1
        if len(self._pending) > _LOOKAHEAD:
            yield from self._emit(*self._pending.pop(0))

    def finish(self) -> Iterator[Chunk]:
        """The pages still held back, and the last, partial chunk."""
        while self._pending:
            yield from self._emit(*self._pending.pop(0))
        yield from self._flush(final=True)

    def _emit(self, page: PageText, keys: list[str]) -> Iterator[Chunk]:
        text = _HYPHEN_BREAK.sub(r"\1\2", self._strip_running_lines(page.text, keys))
        for section, segment in self._segments(page.number, text):
            if section != self._open.section:
                yield from self._close_section()
                self._open.section = section
            yield from self._add_words(segment, page.number)

    def _close_section(self) -> Iterator[Chunk]:
        """End the open section: overlap words already stored are dropped; a tail shorter than
        ``_MIN_WORDS`` (a heading number such as "1.1") joins the next section."""
        fresh = self._open.words[len(self._open.words) - self._fresh :] if self._fresh else []
        self._open.words = fresh
        if len(fresh) >= _MIN_WORDS:
            yield from self._flush(final=True)

    def _segments(self, number: int, text: str) -> Iterator[tuple[tuple[str, ...], str]]:
        if self._use_headings:
            yield from self._heading_segments(text)
            return
        cursor = 0
        for entry in self._starts.get(number, []):
            at = _find_title(text, entry.title, cursor)
            if at > cursor:
                yield self._section(), text[cursor:at]
            cursor = max(cursor, at)
            self._enter(entry.level, entry.title)
        yield self._section(), text[cursor:]

    def _heading_segments(self, text: str) -> Iterator[tuple[tuple[str, ...], str]]:
        buffer: list[str] = []
        for line in text.splitlines():
            stripped = line.strip()
            if _HEADING.match(stripped):
                yield self._section(), "\n".join(buffer)
                buffer = []
                self._enter(_heading_level(stripped), stripped)
            buffer.append(line)
        yield self._section(), "\n".join(buffer)

    def _enter(self, level: int, title: str) -> None:
        self._path = [(lvl, t) for lvl, t in self._path if lvl < level]
        self._path.append((level, title))

    def _section(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._path)

    def _add_words(self, segment: str, page: int) -> Iterator[Chunk]:
        for word in segment.split():
            self._open.words.append((word, page))
            self._fresh += 1
            if len(self._open.words) >= self._target:
                yield from self._flush(final=False)

    def _flush(self, final: bool) -> Iterator[Chunk]:
        words = self._open.words
        if not words:
            return
        yield Chunk(
            index=self._index,
            text=" ".join(w for w, _ in words),
            page_start=words[0][1],
            page_end=words[-1][1],
            section=self._open.section,
        )
        self._index += 1
        self._fresh = 0
        self._open.words = [] if final or not self._overlap else words[-self._overlap :]

    @staticmethod
    def _edge_keys(text: str) -> list[str]:
        """The first and last line of a page, digits masked (page numbers differ)."""
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 3:
            return []
        return [_DIGITS.sub("#", _SPACE.sub(" ", lines[i].strip().lower())) for i in (0, -1)]

    def _strip_running_lines(self, text: str, keys: list[str]) -> str:
        """Drop a first or last line seen at the edge of at least ``_RUNNING`` pages so far."""
        lines = [line for line in text.splitlines() if line.strip()]
        if not keys:
            return "\n".join(lines)
        drop = {
            i for i, key in zip((0, len(lines) - 1), keys, strict=True) if self._edge_lines[key] >= _RUNNING
        }
        return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def chunk_pages(
    pages: Iterable[PageText], outline: list[OutlineEntry], target_words: int, overlap_words: int
) -> Iterator[Chunk]:
    """All chunks of a book, in order."""
    chunker = Chunker(outline, target_words, overlap_words)
    for page in pages:
        yield from chunker.feed(page)
    yield from chunker.finish()


def _find_title(text: str, title: str, start: int) -> int:
    """Where a section title starts in the page text (or ``start`` if it is not found)."""
    words = [re.escape(w) for w in title.split()[:8]]
    if not words:
        return start
    match = re.compile(r"\s+".join(words), re.IGNORECASE).search(text, start)
    return match.start() if match else start


def _heading_level(line: str) -> int:
    first = line.split()[0]
    if first[0].isdigit():
        return first.count(".")
    return 0
