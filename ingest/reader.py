"""Reading a PDF's pages in a child process, ahead of the pipeline, at low CPU priority.

pypdf is pure Python and CPU-bound. Run in a thread of the importing process it holds the
GIL against the pipeline and, on a small machine, takes a core from the embedding model's
threads: an ONNX intra-op pool waits for its slowest thread, so one preempted thread stalls
every matrix multiply. In its own process at the lowest priority (nice 19) the reader gets
the CPU the pipeline leaves idle (storage, Python between batches) and yields it back at
once when the model runs. Pages come back through a bounded queue, so the reader is never
more than a few pages ahead and memory stays flat.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any

from cognition.errors import DocumentError, UnreadablePdf
from ingest.pdf import PageText, PdfBook, iter_pages

_AHEAD = 16  # pages in flight between the reader process and the pipeline
_POLL = 1.0  # seconds between liveness checks while waiting
_END = "end"
_PAGE = "page"
_ERROR = "error"


def read_pages(book: PdfBook, start: int = 1, nice: int = 19) -> Iterator[PageText]:
    """Yield ``book``'s pages from ``start`` as ``iter_pages`` does, read in a child process.

    A ``DocumentError`` raised by the reader is raised here. Closing the generator early
    (an error downstream, a cancelled import) stops the child.
    """
    context = multiprocessing.get_context("spawn")
    pages: Queue[tuple[str, Any]] = context.Queue(maxsize=_AHEAD)
    child = context.Process(
        target=_read, args=(book, start, nice, pages, os.getpid()), name="cognition-pdf-reader", daemon=True
    )
    child.start()
    try:
        while True:
            kind, value = _next(pages, child)
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        _stop(child, pages)


def _next(pages: Queue[tuple[str, Any]], child: BaseProcess) -> tuple[str, Any]:
    while True:
        try:
            return pages.get(timeout=_POLL)
        except queue.Empty:
            if not child.is_alive():
                raise UnreadablePdf(f"the PDF reader process died (exit code {child.exitcode})") from None


def _stop(child: BaseProcess, pages: Queue[tuple[str, Any]]) -> None:
    if child.is_alive():
        child.terminate()
    child.join(timeout=5)
    pages.close()
    pages.cancel_join_thread()


def _read(book: PdfBook, start: int, nice: int, pages: Queue[tuple[str, Any]], parent: int) -> None:
    """The child: read pages into the queue until the end, an error, or the parent is gone."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    try:
        for page in iter_pages(book, start):
            if not _put(pages, (_PAGE, page), parent):
                return
    except DocumentError as exc:
        _put(pages, (_ERROR, exc), parent)
        return
    except Exception as exc:  # any other pypdf failure is this document's failure too
        _put(pages, (_ERROR, UnreadablePdf(f"{book.path.name}: {type(exc).__name__}: {exc}")), parent)
        return
    _put(pages, (_END, None), parent)


def _put(pages: Queue[tuple[str, Any]], item: tuple[str, Any], parent: int) -> bool:
    """Put ``item``, giving up when the importing process has died (kill -9 leaves no one to read)."""
    while True:
        try:
            pages.put(item, timeout=_POLL)
            return True
        except queue.Full:
            if os.getppid() != parent:
                return False
