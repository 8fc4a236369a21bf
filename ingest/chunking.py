"""Cutting a book's pages into chunks that know their section and page range.

Sections come from the PDF outline when it has one, from heading-like lines otherwise.
A chunk never spans two sections (except that a tail of fewer than 25 words, typically the
heading number printed before a section title, opens the next section); it may span pages.
A chunk is also cut at ``max_chars`` characters, and a run of text longer than that with no
space in it is cut where the chunk is full: book text stays under the cap (150 words are about
1,000 characters; a table of contents with dot leaders a few thousand), so only input such as
a 2 MB base64 blob is cut by it.
Each chunk carries the printed labels of its first and last page (``PageText.label``).
Running headers and footers (the same line at the top or bottom of three or more pages,
page numbers masked) are dropped from every page they are on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cognition.settings import ChunkingSettings
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
    page_label_start: str | None = None  # printed number of the first page, when not page_start
    page_label_end: str | None = None  # printed number of the last page, when not page_end


@dataclass
class _Open:
    section: tuple[str, ...] = ()
    words: list[tuple[str, int]] = field(default_factory=list)
    chars: int = 0  # length of the words joined by spaces

    def set_words(self, words: list[tuple[str, int]]) -> None:
        self.words = words
        self.chars = sum(len(w) for w, _ in words) + max(len(words) - 1, 0)

    def room(self, limit: int) -> int:
        """Characters the next word may have and keep the chunk within ``limit``."""
        return limit - self.chars - (1 if self.words else 0)

    def append(self, word: str, page: int) -> None:
        self.chars += len(word) + (1 if self.words else 0)
        self.words.append((word, page))


class Chunker:
    """Stream pages in, get chunks out. One instance per book."""

    def __init__(
        self,
        outline: list[OutlineEntry],
        target_words: int,
        overlap_words: int,
        max_chars: int = ChunkingSettings().max_chars,
    ) -> None:
        self._starts: dict[int, list[OutlineEntry]] = {}
        for entry in outline:
            self._starts.setdefault(entry.page, []).append(entry)
        self._use_headings = not outline
        self._target = target_words
        self._overlap = min(overlap_words, target_words // 2)
        self._max_chars = max_chars
        self._path: list[tuple[int, str]] = []
        self._open = _Open()
        self._index = 0
        self._edge_lines: Counter[str] = Counter()
        self._pending: list[tuple[PageText, list[str]]] = []
        self._fresh = 0  # words added since the last chunk was emitted
        self._labels: dict[int, str] = {}  # page number -> printed label, where it has one

    def feed(self, page: PageText) -> Iterator[Chunk]:
        """Chunks completed by this page (pages are held back ``_LOOKAHEAD`` pages, so a running
        header is recognised on its first pages too)."""
        if page.label is not None:
            self._labels[page.number] = page.label
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
        self._open.set_words(fresh)
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
            yield from self._add_word(word, page)

    def _add_word(self, word: str, page: int) -> Iterator[Chunk]:
        """Add one word, first emitting chunks until it fits under ``max_chars``. Overlap words
        alone never make a chunk (they are dropped instead); a word longer than any chunk fills
        the open chunk and then whole chunks, and its last part is added like a word."""
        while len(word) > self._open.room(self._max_chars):
            if not self._fresh:
                self._open.set_words([])
                if len(word) <= self._max_chars:
                    break
            if len(word) > self._max_chars and (cut := self._open.room(self._max_chars)) > 0:
                self._append(word[:cut], page)
                word = word[cut:]
            yield from self._flush(final=False)
        self._append(word, page)
        if len(self._open.words) >= self._target:
            yield from self._flush(final=False)

    def _append(self, word: str, page: int) -> None:
        self._open.append(word, page)
        self._fresh += 1

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
            page_label_start=self._labels.get(words[0][1]),
            page_label_end=self._labels.get(words[-1][1]),
        )
        self._index += 1
        self._fresh = 0
        self._open.set_words([] if final or not self._overlap else self._overlap_of(words))

    def _overlap_of(self, words: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """The last ``overlap_words`` words, fewer if they would fill more than half a chunk."""
        kept = words[-self._overlap :]
        while kept and sum(len(w) + 1 for w, _ in kept) - 1 > self._max_chars // 2:
            kept = kept[1:]
        return kept

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
    pages: Iterable[PageText],
    outline: list[OutlineEntry],
    target_words: int,
    overlap_words: int,
    max_chars: int = ChunkingSettings().max_chars,
) -> Iterator[Chunk]:
    """All chunks of a book, in order."""
    chunker = Chunker(outline, target_words, overlap_words, max_chars)
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
