"""A rich progress bar for people: documents, pages, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest.outcomes import Outcome


class RichProgress:
    """Implements ``ingest.importer.Progress`` on a rich bar (to stderr)."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._pages: TaskID | None = None
        self._documents = 0
        self._done = 0
        self._active: list[str] = []  # documents in progress (an import prepares several at once)

    def planned(self, documents: int, pages: int) -> None:
        self._documents = documents
        if documents:
            self._bar.start()
            self._pages = self._bar.add_task(self._label(), total=pages or None)

    def document_started(self, path: str, pages: int) -> None:
        self._active.append(path)
        if self._pages is not None:
            self._bar.update(self._pages, description=self._label())

    def pages_done(self, pages: int) -> None:
        if self._pages is not None:
            self._bar.advance(self._pages, pages)

    def document_finished(self, outcome: Outcome) -> None:
        if outcome.path in self._active:  # not a file that failed before it started
            self._done += 1
            self._active.remove(outcome.path)
        if outcome.status in ("failed", "needs_ocr"):
            self._bar.console.print(f"[yellow]{outcome.status}[/]: {outcome.path}: {outcome.reason}")
        if self._pages is not None:
            self._bar.update(self._pages, description=self._label())

    def close(self) -> None:
        self._bar.stop()

    def _label(self) -> str:
        names = ", ".join(path.rsplit("/", 1)[-1][:30] for path in self._active)
        return f"documents {self._done}/{self._documents} {names}"
