"""Reading a PDF's pages in a child process, ahead of the pipeline, at low CPU priority.

pypdf is pure Python and CPU-bound. Run in a thread of the importing process it holds the
GIL against the pipeline and, on a small machine, takes a core from the embedding model's
threads: an ONNX intra-op pool waits for its slowest thread, so one preempted thread stalls
every matrix multiply. In its own process at the lowest priority (nice 19) the reader gets
the CPU the pipeline leaves idle and yields it back at once when the model runs.

The child is ``python -m ingest.reader`` (not ``multiprocessing``, whose "spawn" re-runs the
caller's main script in the child). It reads its request (path, password, content hash,
first page) from stdin, so a password never shows in the process list, and writes one JSON
line per page (its number, text and printed label) to stdout. It reads the bytes whose
sha256 is the book's content hash, or fails with ``SourceChanged`` (see ``ingest.pdf``): the
file may have been replaced since the importer hashed it. The pipe is the bound: when the
importer stops reading, the child blocks on its next write; when the importer dies, the
child's write fails and it exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from cognition import errors
from cognition.errors import DocumentError, UnreadablePdf
from ingest.pdf import PageText, PdfBook, iter_pages


def read_pages(book: PdfBook, start: int = 1, nice: int = 19) -> Iterator[PageText]:
    """Yield ``book``'s pages from ``start`` as ``iter_pages`` does, read in a child process.

    A ``DocumentError`` raised by the reader is raised here with its own type. Closing the
    generator early (an error downstream, a cancelled import) stops the child.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "ingest.reader"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        request = {
            "path": str(book.path),
            "password": book.password,
            "content_hash": book.content_hash,
            "pages": book.page_count,
            "start": start,
            "nice": nice,
        }
        child.stdin.write(json.dumps(request))
        child.stdin.close()
        for line in child.stdout:
            message = json.loads(line)
            if "page" in message:
                yield PageText(number=message["page"], text=message["text"], label=message.get("label"))
            elif "error" in message:
                raise _error(message["error"], message["message"])
            else:
                return
        child.wait()
        detail = (child.stderr.read() if child.stderr else "").strip().splitlines()[-1:] or ["no output"]
        raise UnreadablePdf(f"the PDF reader process stopped (exit code {child.returncode}): {detail[0]}")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def _error(name: str, message: str) -> DocumentError:
    found = getattr(errors, name, None)
    if isinstance(found, type) and issubclass(found, DocumentError):
        return found(message)
    return UnreadablePdf(message)


def _child() -> None:
    """The child's side: read the request, write pages, an error, or the end."""
    request = json.loads(sys.stdin.read())
    with contextlib.suppress(OSError):
        os.nice(int(request["nice"]))
    path = Path(request["path"])
    book = PdfBook(
        path, request["content_hash"], 0, int(request["pages"]), path.stem, None, password=request["password"]
    )
    out = sys.stdout
    try:
        for page in iter_pages(book, int(request["start"])):
            out.write(json.dumps({"page": page.number, "text": page.text, "label": page.label}) + "\n")
            out.flush()
    except DocumentError as exc:  # the parent raises the same type again, which adds its reason
        out.write(json.dumps({"error": type(exc).__name__, "message": exc.detail}) + "\n")
    except Exception as exc:  # any other pypdf failure is this document's failure too
        message = f"{path.name}: {type(exc).__name__}: {exc}"
        out.write(json.dumps({"error": "UnreadablePdf", "message": message}) + "\n")
    else:
        out.write(json.dumps({"end": True}) + "\n")
    out.flush()


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):  # the importer stopped reading: nothing to do
        _child()
