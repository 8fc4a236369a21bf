"""What this process measures as it serves: searches by mode (the search route and the MCP
search tool both go through ``timed_search``) and HTTP requests by route template, method and
status (``RequestCounter``, an ASGI middleware). The metrics live in ``REGISTRY``, a registry
of this module's own (not prometheus-client's global one, which also holds the Python
process collectors), and ``/metrics`` merges it into every scrape beside the ledger's series.

These series carry no dataset label, so any key may see them. Each worker process counts its
own: Prometheus sums the processes (``sum by (mode)``) like any fleet of targets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)

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


class RequestCounter:
    """ASGI middleware counting each HTTP request once it is answered. The route label is the
    matched route's path template (``/v1/datasets/{dataset}``), never the raw path: raw paths
    are unbounded label values, each a new series in Prometheus."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes the app is answered 500 by the server

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            HTTP_REQUESTS.labels(route_of(scope), method_of(scope), str(status)).inc()


def route_of(scope: Scope) -> str:
    """The template of the route the router matched (it records it in the scope)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def method_of(scope: Scope) -> str:
    method = str(scope.get("method", "")).upper()
    return method if method in _METHODS else "other"
