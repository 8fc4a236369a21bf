"""What this process measures as it serves: searches by mode (the search route and the MCP
search tool both go through ``timed_search``) and HTTP requests by route template, method and
status (``RequestLog``, the ASGI middleware that also gives each request its id and its log
line). The metrics live in ``REGISTRY``, a registry of this module's own (not
prometheus-client's global one, which also holds the Python process collectors), and
``/metrics`` merges it into every scrape beside the ledger's series.

These series carry no dataset label, so any key may see them. Each worker process counts its
own: Prometheus sums the processes (``sum by (mode)``) like any fleet of targets.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cognition import logs

REGISTRY = CollectorRegistry(auto_describe=True)
log = logging.getLogger("api.requests")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")

SEARCH_SECONDS = Histogram(
    "cognition_search_seconds",
    "Seconds a search took in this process (API and MCP), by mode",
    ["mode"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "cognition_http_requests",
    "HTTP requests this process answered, by route template, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)

UNMATCHED = "unmatched"  # the route label of a request no route matched (404s of any path)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@contextmanager
def timed_search(mode: str) -> Iterator[None]:
    """Observe a search's latency under its mode. Only a search that answered is observed:
    a refused one (bad mode, unknown dataset) says nothing about how fast searching is, and
    its mode may be a value no label should carry."""
    started = time.perf_counter()
    yield
    SEARCH_SECONDS.labels(mode).observe(time.perf_counter() - started)


class RequestLog:
    """ASGI middleware counting each HTTP request once it is answered, and giving it an id.

    The count's route label is the matched route's path template (``/v1/datasets/{dataset}``),
    never the raw path: raw paths are unbounded label values, each a new series in Prometheus.
    The id is the caller's ``X-Request-ID`` when it
    is a plain token (at most 64 letters, digits, ``.``, ``_``, ``-``; anything else could
    forge log lines), a new one otherwise. The id tags every line logged while the request
    runs, is sent back in ``X-Request-ID``, and ends the request's own INFO line (method,
    path, status, milliseconds; never the query string, which may hold a key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status, started = 500, time.perf_counter()

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        with logs.log_context(request_id=request_id):
            try:
                await self.app(scope, receive, sent)
            finally:
                HTTP_REQUESTS.labels(route_of(scope), method_of(scope), str(status)).inc()
                log.info(
                    "%s %s %d %.1f ms",
                    method_of(scope),
                    _printable(str(scope.get("path", ""))),
                    status,
                    (time.perf_counter() - started) * 1000,
                )


def _printable(path: str) -> str:
    """The request's path as a log shows it: control characters escaped (a forged line
    break is not a new log line), at most 300 characters."""
    shown = path.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= 300 else shown[:300] + "…"


def route_of(scope: Scope) -> str:
    """The template of the route the router matched (it records it in the scope)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def method_of(scope: Scope) -> str:
    method = str(scope.get("method", "")).upper()
    return method if method in _METHODS else "other"
