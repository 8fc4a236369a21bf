"""Receiving an uploaded PDF: the request body is parsed as it arrives and written to a
temporary file in the data directory, hashed on the way, and stopped at the size limit
(413, nothing left on disk). The file is then checked (``%PDF-`` header) and kept under its
sha256 in ``uploads/<dataset>/``. The client's file name is never used as a path."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from api.errors import ApiError

PDF_TYPES = {"application/pdf", "application/x-pdf", "application/octet-stream"}
HEADER_WINDOW = 1024  # a PDF header may follow a little junk (as readers accept)


@dataclass
class Received:
    path: Path  # where the file is kept: uploads/<dataset>/<sha256>.pdf
    content_hash: str
    size: int
    filename: str | None  # as the client named it (shown, never used as a path)


def _fail(status: int, error: str, detail: str, hint: str) -> ApiError:
    return ApiError(status, error, detail, hint)


async def receive_pdf(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    uploads: Path,
    dataset: str,
    limit: int,
) -> Received:
    """Stream a ``multipart/form-data`` body's ``file`` part to disk, within ``limit`` bytes."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise _fail(
            415,
            "UnsupportedMediaType",
            "send the PDF as multipart/form-data with a 'file' part",
            "e.g. curl -F file=@book.pdf",
        )
    if content_length and content_length.isdigit() and int(content_length) > limit + 64 * 1024:
        raise _too_large(limit)
    uploads.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=uploads, prefix=".upload-", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            part = _Part(out, limit)
            parser = MultipartParser(options[b"boundary"], part.callbacks())  # type: ignore[arg-type]
            try:
                async for chunk in body:
                    parser.write(chunk)
                    if part.error is not None:
                        raise part.error
                parser.finalize()
            except MultipartParseError as exc:
                raise _fail(
                    422,
                    "InvalidRequest",
                    f"the multipart body cannot be parsed: {exc}",
                    "send a well-formed multipart/form-data body",
                ) from None
        if part.error is not None:
            raise part.error
        if not part.seen_file:
            raise _fail(
                422, "InvalidRequest", "file: the form has no 'file' part", "send the PDF as the 'file' field"
            )
        if part.size == 0:
            raise _fail(422, "EmptyFile", "the uploaded file is empty", "send a PDF")
        if b"%PDF-" not in part.head:
            raise _fail(415, "NotAPdf", "the uploaded file is not a PDF (no %PDF- header)", "send a PDF file")
        digest = part.digest.hexdigest()
        target = uploads / dataset / f"{digest}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return Received(target, digest, part.size, part.filename)
    finally:
        temp.unlink(missing_ok=True)


def _too_large(limit: int) -> ApiError:
    return _fail(
        413,
        "TooLarge",
        f"the upload is larger than the limit of {limit:,} bytes",
        "split the file, or raise COGNITION_API__MAX_UPLOAD_BYTES on the server",
    )


class _Part:
    """Collects the ``file`` part of a multipart body; other parts are ignored."""

    def __init__(self, out: BinaryIO, limit: int) -> None:
        self._out = out
        self._limit = limit
        self._header_name = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self.seen_file = False
        self.size = 0
        self.head = b""
        self.digest = hashlib.sha256()
        self.filename: str | None = None
        self.error: ApiError | None = None
        self._value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers, self._header_name, self._value = {}, b"", b""

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._value
        self._header_name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._in_file = disposition.get(b"name") == b"file" and not self.seen_file
        if not self._in_file:
            return
        self.seen_file = True
        raw_name = disposition.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace")[:255] if raw_name else None
        kind, _ = parse_options_header(self._headers.get(b"content-type", b"application/octet-stream"))
        if kind.decode("latin-1") not in PDF_TYPES:
            self.error = _fail(
                415,
                "UnsupportedMediaType",
                f"the file part is {kind.decode('latin-1')!r}, not a PDF",
                "send it as application/pdf",
            )

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file or self.error is not None:
            return
        piece = data[start:end]
        self.size += len(piece)
        if self.size > self._limit:
            self.error = _too_large(self._limit)
            return
        if len(self.head) < HEADER_WINDOW:
            self.head += piece[: HEADER_WINDOW - len(self.head)]
        self.digest.update(piece)
        self._out.write(piece)

    def _end(self) -> None:
        self._in_file = False
