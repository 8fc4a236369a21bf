"""How one import moves documents through the pipeline: a book is stored batch by batch
while its next batches are embedded, a page that breaks after some batches were stored
leaves nothing of its document, the longest document starts first, and the progress
display hears pages as they are embedded."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from cognition.embedding.port import Embedder, Purpose, Vectors
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.settings import Settings
from cognition.store.port import DocumentBatch, Store
from ingest.importer import Importer
from ingest.outcomes import Outcome
from tests.helpers import BOOKS, write_excerpt

pytestmark = pytest.mark.slow

BATCH = 12  # chunks per batch here: an excerpt of a few dozen pages makes many batches


@dataclass
class Event:
    what: str  # "embed" or "write"
    started: float
    ended: float
    texts: tuple[str, ...]
    sources: frozenset[str] = frozenset()  # the documents a write stored


@dataclass
class Watch:
    """A record of every embedding and write an import asked for."""

    events: list[Event] = field(default_factory=list)

    def of(self, what: str) -> list[Event]:
        return [e for e in self.events if e.what == what]


class WatchedEmbedder:
    """The session's real embedder, watched."""

    def __init__(self, inner: Embedder, watch: Watch) -> None:
        self._inner, self._watch = inner, watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        started = time.monotonic()
        vectors = await self._inner.embed(texts, purpose, progress)
        self._watch.events.append(Event("embed", started, time.monotonic(), tuple(texts)))
        return vectors


class WatchedStore:
    """The session's real store, its writes watched."""

    def __init__(self, inner: Store, watch: Watch) -> None:
        self._inner, self._watch = inner, watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def write(self, dataset: str, groups: AsyncIterator[list[DocumentBatch]]) -> None:
        started, texts, sources = time.monotonic(), [], set()

        async def seen() -> AsyncIterator[list[DocumentBatch]]:
            async for group in groups:
                texts.extend(c.text for batch in group for c in batch.chunks)
                sources.update(Path(batch.document.source).name for batch in group)
                yield group

        await self._inner.write(dataset, seen())
        self._watch.events.append(Event("write", started, time.monotonic(), tuple(texts), frozenset(sources)))


@dataclass
class RecordedProgress:
    """What a progress display is told, in order."""

    planned_pages: int = 0
    started: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def planned(self, documents: int, pages: int) -> None:
        self.planned_pages = pages

    def document_started(self, path: str, pages: int) -> None:
        self.started.append(Path(path).name)

    def pages_done(self, pages: int) -> None:
        self.pages.append(pages)

    def document_finished(self, outcome: Outcome) -> None:
        self.finished.append(Path(outcome.path).name)


def _tuned(settings: Settings, **imports: int) -> Settings:
    return settings.model_copy(update={"imports": settings.imports.model_copy(update=imports)})


def _importer(
    runtime: Runtime, watch: Watch | None = None, progress: RecordedProgress | None = None, **imports: int
) -> Importer:
    tuned = replace(runtime, settings=_tuned(runtime.settings, **imports))
    if watch is not None:
        tuned = replace(
            tuned,
            _store=WatchedStore(runtime.store, watch),
            _embedder=WatchedEmbedder(runtime.embedder, watch),
            _searcher=None,
        )
    return Importer(tuned, progress)


def _with_broken_page(source: Path, pages: range, broken: int, dest: Path) -> Path:
    """A real excerpt whose page number ``broken`` (1-based, in the excerpt) has a content
    stream that ends in the middle of a string: pypdf cannot read that page."""
    reader = PdfReader(source)
    writer = PdfWriter()
    for number in pages:
        writer.add_page(reader.pages[number - 1])
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf (a string that never ends <<< [ ")
    writer.pages[broken - 1][NameObject("/Contents")] = writer._add_object(stream)
    with dest.open("wb") as handle:
        writer.write(handle)
    return dest


@pytest.fixture(scope="module")
def bash_chapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bash Reference Manual pp. 41-70 (about a hundred chunks)."""
    folder = tmp_path_factory.mktemp("pipeline")
    return write_excerpt(BOOKS / "bashref.pdf", range(41, 71), folder / "bash-chapter.pdf", "Bash chapter")


async def test_a_book_is_stored_batch_by_batch_while_its_next_batches_are_embedded(
    runtime: Runtime, store: Store, ledger: Ledger, bash_chapter: Path, dataset_name: str
) -> None:
    watched = Watch()

    summary = (
        await _importer(runtime, watched, chunks_per_batch=BATCH).import_paths([bash_chapter], dataset_name)
    ).to_json()

    prepares, writes = watched.of("embed"), watched.of("write")
    stats = await store.stats(dataset_name)
    [record] = ledger.documents(dataset_name)
    assert summary["added"] == 1 and summary["chunks"] == stats.chunks == stats.chunk_vectors > 5 * BATCH
    assert len(writes) == len(prepares) == -(-summary["chunks"] // BATCH)
    # Every write stores exactly the batch embedded for it, in the book's order ...
    assert [w.texts for w in writes] == [p.texts for p in prepares]
    assert all(len(w.texts) == BATCH for w in writes[:-1])
    # ... and the first writes happen while later batches are still being embedded.
    assert writes[0].ended < prepares[-1].started
    assert sum(w.started < prepares[-1].ended for w in writes) >= len(writes) // 2
    assert (record.state, record.chunks) == ("stored", stats.chunks)


async def test_a_page_that_breaks_after_batches_were_stored_leaves_nothing_of_its_book(
    runtime: Runtime,
    store: Store,
    ledger: Ledger,
    excerpts: dict[str, Path],
    tmp_path: Path,
    dataset_name: str,
) -> None:
    broken = _with_broken_page(BOOKS / "bashref.pdf", range(41, 101), 55, tmp_path / "broken-page-55.pdf")
    watched = Watch()
    importer = _importer(runtime, watched, chunks_per_batch=BATCH)

    summary = await importer.import_paths([broken, excerpts["git_objects"]], dataset_name)

    writes_of_broken = [w for w in watched.of("write") if w.sources == {broken.name}]
    stats = await store.stats(dataset_name)
    rows = {Path(r.source).name: r for r in ledger.documents(dataset_name)}
    assert [(Path(o.path).name, o.status, o.reason) for o in summary.outcomes] == [
        (
            "broken-page-55.pdf",
            "failed",
            "not a readable PDF: page 55 cannot be read (Stream has ended unexpectedly)",
        ),
        ("git-objects.pdf", "added", None),
    ]
    assert len(writes_of_broken) >= 5  # the failure came after the book was partly stored ...
    assert (stats.documents, stats.chunks) == (
        1,
        rows["git-objects.pdf"].chunks,
    )  # ... and none of it is left
    assert stats.chunk_vectors == stats.chunks
    assert (rows["broken-page-55.pdf"].state, rows["broken-page-55.pdf"].permanent) == ("failed", 1)


async def test_the_longest_document_starts_first_and_outcomes_keep_the_order_given(
    runtime: Runtime, store: Store, excerpts: dict[str, Path], bash_chapter: Path, dataset_name: str
) -> None:
    progress = RecordedProgress()
    given = [excerpts["git_objects"], bash_chapter, excerpts["bash_expansion"]]  # 5, 30, 5 pages

    summary = await _importer(runtime, None, progress, concurrency=1).import_paths(given, dataset_name)

    assert progress.started[0] == "bash-chapter.pdf"
    assert progress.finished[0] == "bash-chapter.pdf"
    assert [Path(o.path).name for o in summary.outcomes] == [p.name for p in given]
    assert [o.status for o in summary.outcomes] == ["added"] * 3


async def test_progress_hears_pages_as_they_are_embedded(
    runtime: Runtime, settings: Settings, bash_chapter: Path, dataset_name: str
) -> None:
    progress = RecordedProgress()

    summary = await _importer(runtime, None, progress).import_paths([bash_chapter], dataset_name)

    chunks = summary.to_json()["chunks"]
    assert chunks < settings.imports.chunks_per_batch  # one batch ...
    assert len(progress.pages) >= 3  # ... reported several times while the model runs
    assert all(step > 0 for step in progress.pages)
    assert sum(progress.pages) == progress.planned_pages == 30
