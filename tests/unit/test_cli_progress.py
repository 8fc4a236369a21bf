"""The import's progress bar names every document in progress (an import prepares several
at once) and counts finished ones and pages."""

from __future__ import annotations

from cli.progress import RichProgress
from ingest.outcomes import Outcome


def test_the_bar_names_the_documents_in_progress_and_counts_pages() -> None:
    progress = RichProgress()
    progress.planned(documents=3, pages=30)
    progress.document_started("/books/big-book.pdf", 20)
    progress.document_started("/books/small.pdf", 5)
    progress.pages_done(7)
    [task] = progress._bar.tasks

    both = task.description
    progress.document_finished(Outcome("/books/small.pdf", "added", pages=5, chunks=3))
    progress.pages_done(5)
    after = task.description
    progress.close()

    assert both == "documents 0/3 big-book.pdf, small.pdf"
    assert after == "documents 1/3 big-book.pdf"
    assert (task.completed, task.total) == (12, 30)
