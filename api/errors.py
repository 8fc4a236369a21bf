"""One error shape for every expected failure:
``{"error": Name, "detail": what happened, "hint": what to do, "retryable": bool}``.

Texts never name another dataset's content: a dataset, document, job, chunk or entity the
key may not see answers exactly as one that does not exist.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from cognition.errors import (
    CognitionError,
    ConfigurationError,
    DatasetNotFoundError,
    DocumentBusy,
    DocumentError,
    EmbeddingMismatch,
    Forbidden,
    InvalidDatasetName,
    ManifestError,
    NotFound,
    SearchError,
    StoreBusy,
)
from cognition.governor.errors import CircuitOpen, QuotaParked
from ingest.catalog import CursorError

log = logging.getLogger("cognition.api")


class ErrorBody(BaseModel):
    error: str
    detail: str
    hint: str
    retryable: bool


class ConflictBody(ErrorBody):
    """409: the content is already stored (``exists``) or on its way (``in_progress``)."""

    reason: str
    dataset: str
    document_id: str | None
    job_id: str
    state: str


class ApiError(Exception):
    """An HTTP answer other than success, in the one error shape."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        hint: str,
        retryable: bool = False,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.hint = status, error, detail, hint
        self.retryable, self.headers, self.extra = retryable, headers or {}, extra or {}

    def response(self) -> JSONResponse:
        body = {"error": self.error, "detail": self.detail, "hint": self.hint, "retryable": self.retryable}
        return JSONResponse({**body, **self.extra}, status_code=self.status, headers=self.headers)


NOT_FOUND_HINT = "check the name or id; GET /v1/datasets lists the datasets this key can read"


def from_cognition(exc: CognitionError) -> ApiError:
    """The status and hint of each expected error."""
    name = type(exc).__name__
    if isinstance(exc, DatasetNotFoundError):
        return ApiError(404, "DatasetNotFound", f"dataset not found: {exc.name!r}", NOT_FOUND_HINT)
    if isinstance(exc, NotFound):
        return ApiError(404, f"{exc.what.capitalize()}NotFound", str(exc), NOT_FOUND_HINT)
    if isinstance(exc, Forbidden):
        return ApiError(403, name, str(exc), "ask an admin for a key with this right on the dataset")
    if isinstance(exc, DocumentBusy):
        return ApiError(
            503,
            name,
            str(exc),
            "poll the job; delete the document when it has ended",
            True,
            {"Retry-After": "10"},
        )
    if isinstance(exc, StoreBusy):
        return ApiError(503, name, str(exc), "retry in a few seconds", True, {"Retry-After": "5"})
    if isinstance(exc, (CircuitOpen, QuotaParked)):  # the model provider may be called again then
        wait = str(max(1, math.ceil(exc.until - time.time())))
        return ApiError(503, name, str(exc), "retry after Retry-After seconds", True, {"Retry-After": wait})
    if isinstance(exc, EmbeddingMismatch):
        return ApiError(400, name, str(exc), "search it with the model it was built with")
    if isinstance(exc, ConfigurationError):
        return ApiError(503, name, str(exc), "the server's configuration needs attention", exc.retryable)
    if isinstance(exc, (SearchError, InvalidDatasetName, ManifestError, CursorError)):
        return ApiError(422, name, str(exc), "correct the request and send it again")
    if isinstance(exc, DocumentError):
        return ApiError(422, name, str(exc), "send a readable file of the expected kind")
    return ApiError(503 if exc.retryable else 400, name, str(exc), "see detail", exc.retryable)


def install(app: FastAPI) -> None:
    """Every error the app raises on purpose, a bad request, an unknown route, and (last)
    anything unexpected, rendered in the one shape."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def cognition_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CognitionError)
        return from_cognition(exc).response()

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [_problem(error) for error in exc.errors()[:5]]
        return ApiError(
            422, "InvalidRequest", "; ".join(problems), "correct the fields named and resend"
        ).response()

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI's own: a body it could not decode at all
            return ApiError(422, "InvalidRequest", f"body: {exc.detail}", "send valid UTF-8 JSON").response()
        names = {404: "NotFound", 405: "MethodNotAllowed"}
        hint = "see /docs for the routes" if exc.status_code in names else "see detail"
        error = ApiError(exc.status_code, names.get(exc.status_code, "HttpError"), str(exc.detail), hint)
        return error.response()

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = ApiError(
            500,
            "InternalError",
            "the server failed on this request",
            "retry; if it persists, see the server log",
            True,
        )
        return body.response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(CognitionError, cognition_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    message = str(error.get("msg", "invalid"))
    allowed = (error.get("ctx") or {}).get("expected")
    return f"{where}: {message}" + (f" (one of {allowed})" if allowed and "one of" not in message else "")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "no valid API key"),
        (403, "the key lacks the right"),
        (404, "not found, or outside the key's scope"),
        (422, "invalid request"),
        (429, "too many requests for this key"),
        (503, "busy or not ready; retry"),
    )
}
