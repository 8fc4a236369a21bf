"""The crawl: from seeds, breadth first, within bounds, politely; pages out as markdown.

Why not crawl4ai's own crawler: its HTTP strategy (``AsyncHTTPCrawlerStrategy``) lets aiohttp
follow redirects (no check per hop), builds its own connector (no way to pin the checked
addresses), reads whole bodies into memory (no size cap) and saves downloads under HOME;
its browser strategy needs Chromium. So fetching is ours (``fetch.Fetcher``: guarded,
bounded, redirects by hand) and crawl4ai does what it is good at: turning HTML into clean
markdown (``convert``), in a worker thread. In browser mode (``settings.browser``) a page the
fetcher approved is loaded again by a fenced-in Chromium (``browser.Browser``) and its
rendered DOM replaces the fetched HTML before conversion.

Bounds: ``max_depth`` link hops from a seed, ``max_pages`` fetches, one request at a time
per site with ``delay_seconds`` between them (``concurrency`` sites at once), robots.txt
read once per site and obeyed. A page reached by two links is fetched once; two URLs with
the same markdown give one page. A link's redirects must stay on the seeds' sites: a hop
elsewhere is refused before it is requested (a seed's own redirects are followed: it moved).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

from cognition.errors import BlockedUrl, CrawlError, HttpStatusError
from cognition.settings import CrawlSettings
from ingest.web.convert import convert
from ingest.web.fetch import Fetcher, LeavesScope
from ingest.web.spec import CrawlSpec
from ingest.web.urls import in_scope, normalize, origin

_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]

Renderer = Callable[[str], Awaitable[str]]  # an approved URL -> its HTML after JavaScript


@dataclass(frozen=True)
class Page:
    url: str  # after redirects: the page's provenance
    title: str
    markdown: str
    fetched_at: float
    depth: int

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.markdown.encode()).hexdigest()


@dataclass
class CrawlReport:
    pages: list[Page] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # url, reason
    failed: list[tuple[str, CrawlError]] = field(default_factory=list)
    requests: int = 0  # page fetches (robots.txt not counted)
    over_limit: int = 0  # links found but not fetched: max_pages reached
    seconds: float = 0.0


class Pacer:
    """One request at a time per site, ``delay`` seconds apart (no pacing when 0)."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, site: str) -> AsyncIterator[None]:
        if self._delay <= 0:
            yield
            return
        async with self._locks.setdefault(site, asyncio.Lock()):
            await asyncio.sleep(max(0.0, self._next.get(site, 0.0) - time.monotonic()))
            try:
                yield
            finally:
                self._next[site] = time.monotonic() + self._delay


class Robots:
    """robots.txt per site, fetched once through the guarded fetcher (RFC 9309 rules)."""

    def __init__(self, fetcher: Fetcher, pacer: Pacer, user_agent: str) -> None:
        self._fetcher, self._pacer, self._agent = fetcher, pacer, user_agent
        self._rules: dict[str, tuple[RobotFileParser, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids ``url``, or None. A blocked robots.txt fails the page."""
        site = origin(url)
        async with self._locks.setdefault(site, asyncio.Lock()):
            if site not in self._rules:
                self._rules[site] = await self._load(site)
        parser, why = self._rules[site]
        return None if parser.can_fetch(self._agent, url) else why

    async def _load(self, site: str) -> tuple[RobotFileParser, str]:
        parser = RobotFileParser(f"{site}/robots.txt")
        try:
            async with self._pacer.turn(site):
                response = await self._fetcher.get(f"{site}/robots.txt", accept=None)
        except BlockedUrl:
            raise
        except HttpStatusError as exc:
            if exc.permanent:  # 4xx: no robots.txt, everything allowed
                parser.parse([])
                return parser, ""
            parser.parse(_DISALLOW_ALL)
            return parser, f"skipped: robots.txt unavailable ({exc})"
        except CrawlError as exc:  # unreachable: assume everything is disallowed
            parser.parse(_DISALLOW_ALL)
            return parser, f"skipped: robots.txt unavailable ({exc})"
        parser.parse(response.text().splitlines())
        return parser, "skipped: disallowed by robots.txt"


class Crawler:
    """Runs one crawl with a fetcher (and, in browser mode, a renderer) the caller opened."""

    def __init__(
        self, settings: CrawlSettings, fetcher: Fetcher, spec: CrawlSpec, render: Renderer | None = None
    ) -> None:
        self._settings, self._fetcher, self._spec, self._render = settings, fetcher, spec, render
        self._pacer = Pacer(settings.delay_seconds)
        self._robots = Robots(fetcher, self._pacer, settings.user_agent)
        self._max_depth = settings.max_depth if spec.max_depth is None else spec.max_depth
        self._max_pages = settings.max_pages if spec.max_pages is None else spec.max_pages
        self._seeds = list(dict.fromkeys(normalize(s) for s in spec.seeds))
        self._sites = [origin(s) for s in self._seeds]
        self._seen: set[str] = set(self._seeds)  # every URL queued, so each is fetched once
        self._finals: set[str] = set()  # URLs fetched, after redirects
        self._order = {url: n for n, url in enumerate(self._seeds)}  # discovery order
        self._queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.report = CrawlReport()

    async def run(self) -> CrawlReport:
        started = time.perf_counter()
        for seed in self._seeds:
            self._queue.put_nowait((seed, 0))
        workers = [asyncio.create_task(self._work()) for _ in range(self._settings.concurrency)]
        try:
            await self._queue.join()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        self._finish()
        self.report.seconds = time.perf_counter() - started
        return self.report

    async def _work(self) -> None:
        while True:
            url, depth = await self._queue.get()
            try:
                await self._visit(url, depth)
            except CrawlError as exc:
                self.report.failed.append((url, exc))
            except Exception as exc:  # a page that breaks the converter fails alone
                self.report.failed.append((url, CrawlError(f"cannot read the page: {exc!r}")))
            finally:
                self._queue.task_done()

    async def _visit(self, url: str, depth: int) -> None:
        why = await self._robots.refusal(url)
        if why:
            self.report.skipped.append((url, why))
            return
        if self.report.requests >= self._max_pages:
            self.report.over_limit += 1
            return
        self.report.requests += 1
        try:
            async with self._pacer.turn(origin(url)):
                response = await self._fetcher.get(url, scope=None if depth == 0 else self._on_site)
        except LeavesScope as exc:
            self.report.skipped.append((url, f"skipped: {exc}"))
            return
        final = response.url
        if final != url and (final in self._finals or final in self._seen):
            self.report.skipped.append((url, f"skipped: redirects to {final} (crawled as that URL)"))
            return
        self._finals.add(final)
        self._seen.add(final)
        self._order.setdefault(final, self._order[url])
        if depth == 0 and origin(final) not in self._sites:  # a seed moved (http -> https, ...)
            self._sites.append(origin(final))
        if final != url and not self._wanted(final):
            self.report.skipped.append((url, f"skipped: redirects out of the crawl to {final}"))
            return
        if response.body is None:
            self.report.skipped.append((url, f"skipped: content type {response.content_type}"))
            return
        html = response.text()
        if self._render is not None:  # the fetch approved the URL; the browser renders it
            async with self._pacer.turn(origin(final)):
                html = await self._render(final)
        converted = await asyncio.to_thread(convert, html, final)
        self._page(Page(final, converted.title, converted.markdown, response.fetched_at, depth))
        if depth < self._max_depth:
            self._follow(converted.links, depth + 1)

    def _page(self, page: Page) -> None:
        if page.markdown:
            self.report.pages.append(page)
        else:
            self.report.skipped.append((page.url, "skipped: no text"))

    def _finish(self) -> None:
        """Put the results in discovery order and keep the first of pages with equal text:
        the same input gives the same report, however the fetches interleaved."""
        report, rank = self.report, self._rank
        report.pages.sort(key=lambda p: rank(p.url))
        report.skipped.sort(key=lambda s: rank(s[0]))
        report.failed.sort(key=lambda f: rank(f[0]))
        first: dict[str, str] = {}
        kept: list[Page] = []
        for page in report.pages:
            earlier = first.setdefault(page.content_hash, page.url)
            if earlier == page.url:
                kept.append(page)
            else:
                report.skipped.append((page.url, f"skipped: same content as {earlier}"))
        report.pages = kept

    def _rank(self, url: str) -> int:
        return self._order.get(url, len(self._order))

    def _follow(self, links: list[str], depth: int) -> None:
        for link in links:
            if link not in self._seen and self._wanted(link):
                self._seen.add(link)
                self._order[link] = len(self._order)
                self._queue.put_nowait((link, depth))

    def _on_site(self, url: str) -> bool:
        """Whether a redirect may go to ``url``: on a seed's site, unless ``same_site`` is off.
        (A seed's own redirects are followed anywhere the guard allows: the seed moved.)"""
        return not self._spec.same_site or origin(url) in self._sites

    def _wanted(self, url: str) -> bool:
        spec = self._spec
        return in_scope(url, self._sites, spec.include, spec.exclude, spec.same_site)
