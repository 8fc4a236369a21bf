"""Guarded HTTP fetching: every hop checked, every response bounded.

Redirects are followed here, by hand, not by the client: each hop's URL is checked by the
guard before a request is sent (and its host resolved only through the guard), and by the
caller's scope if it gives one (a crawl's sites), the number of hops is capped, and a loop
is refused. A body is streamed and dropped as soon as it
passes the size cap; a body of a type the caller does not want is never read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin

import aiohttp

from cognition.errors import FetchFailed, HttpStatusError, RedirectError, TooLarge
from cognition.settings import CrawlSettings
from ingest.web.guard import AddressGuard, GuardedResolver
from ingest.web.urls import normalize

REDIRECTS = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Response:
    """A fetched resource. ``body`` is None when its content type was not wanted."""

    url: str  # after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes | None
    fetched_at: float

    def text(self) -> str:
        return (self.body or b"").decode(self.charset or "utf-8", errors="replace")


class LeavesScope(RedirectError):
    """A redirect to a URL outside the caller's scope; nothing was sent to it."""

    def __init__(self, target: str) -> None:
        super().__init__(f"redirects out of the crawl to {target}")
        self.target = target


class Fetcher:
    """An HTTP client that reaches only what the guard allows. Use as an async context."""

    def __init__(self, settings: CrawlSettings, guard: AddressGuard) -> None:
        self._settings = settings
        self._guard = guard
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._guard), limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self._settings.user_agent},
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
            trust_env=False,  # no proxy from the environment: the guard must see the target
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        accept: Collection[str] | None = HTML_TYPES,
        scope: Callable[[str], bool] | None = None,
    ) -> Response:
        """GET ``url``, following redirects; ``accept`` None reads any content type. A
        redirect to a URL ``scope`` refuses raises ``LeavesScope`` before it is requested."""
        seen = {url}
        for _ in range(self._settings.max_redirects + 1):
            self._guard.check_url(url)
            target = await self._request(url, accept)
            if isinstance(target, Response):
                return target
            if scope is not None and not scope(target):
                raise LeavesScope(target)
            if target in seen:
                raise RedirectError(f"redirect loop: {url} -> {target}")
            seen.add(target)
            url = target
        raise RedirectError(f"more than {self._settings.max_redirects} redirects, last to {url}")

    async def _request(self, url: str, accept: Collection[str] | None) -> Response | str:
        """The response, or where it redirects to."""
        assert self._session is not None, "use the Fetcher as an async context manager"
        seconds = self._settings.timeout_seconds
        try:
            async with self._session.get(url, allow_redirects=False) as reply:
                if reply.status in REDIRECTS:
                    return _location(url, reply)
                if reply.status >= 400:
                    raise HttpStatusError(reply.status)
                wanted = accept is None or reply.content_type in accept
                body = await self._read(reply) if wanted else None
                return Response(url, reply.status, reply.content_type, reply.charset, body, time.time())
        except TimeoutError as exc:
            raise FetchFailed(f"timed out after {seconds:g} s") from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"connection failed: {exc}") from exc

    async def _read(self, reply: aiohttp.ClientResponse) -> bytes:
        cap = self._settings.max_bytes
        if reply.content_length is not None and reply.content_length > cap:
            raise TooLarge(f"response of {reply.content_length} bytes exceeds the {cap}-byte cap")
        parts: list[bytes] = []
        size = 0
        async for part in reply.content.iter_chunked(_CHUNK):
            size += len(part)
            if size > cap:
                raise TooLarge(f"response exceeds the {cap}-byte cap")
            parts.append(part)
        return b"".join(parts)


def _location(url: str, reply: aiohttp.ClientResponse) -> str:
    location = reply.headers.get("Location")
    if not location:
        raise RedirectError(f"HTTP {reply.status} without a Location header")
    return normalize(urljoin(url, location))
