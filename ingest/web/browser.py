"""Browser mode: pages that need JavaScript, rendered by a Chromium we start and fence in.

The guarded fetcher still decides which URLs are visited (robots.txt, scope, the SSRF check,
redirects hop by hop): the crawler asks the browser to render a URL only after fetching it.
Chromium then loads that URL again, with everything the page pulls in (scripts, styles,
XHR, fetch, WebSockets, frames), and the crawler keeps the rendered DOM.

How Chromium is fenced in:

- Every request it makes goes through ``GuardProxy``, an HTTP proxy on 127.0.0.1 inside this
  process (``--proxy-server``, and ``--proxy-bypass-list=<-loopback>`` so not even loopback
  is reached directly). The proxy connects only to the crawl's hosts (the seeds' hosts and
  the host of every URL the fetcher approved for rendering), resolves them through the same
  ``AddressGuard`` as the fetcher and connects to the address it checked, literal IPs
  included; anything else gets a 403 and no connection. That also stops Chromium's own
  calls to Google services (www.google.com, accounts.google.com, android.clients.google.com
  with Chromium 150), which the flags below do not all turn off.
- ``--host-resolver-rules`` map every name but the crawl's hosts to "not found", should
  Chromium resolve a name itself (a proxied request is resolved by the proxy).
- Less background traffic: no component updates, sync, QUIC, network time, GPU; WebRTC
  sends no UDP that is not proxied (so none). The proxy refuses Chromium's DevTools port and
  its own, even when loopback is allowed.
- A fresh profile, HOME and XDG folders inside the data directory, deleted after the crawl;
  the process group is killed when the crawl ends. ``--no-sandbox`` only when running as
  root (Chromium refuses to start there otherwise).
- crawl4ai drives it over CDP (``cdp_url``, ``create_isolated_context=True``); crawl4ai
  never starts or downloads a browser here, and its folders are in the data directory.

Limits: sub-resources on other hosts (a CDN's scripts) do not load; robots.txt is not
consulted for sub-resources; each sub-resource is not size-capped (the rendered DOM is); a
page that navigates itself elsewhere (script, meta refresh) fails; the DevTools port is
open to other local processes while the crawl runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from cognition.errors import BlockedUrl, CognitionError, CrawlError, FetchFailed, HttpStatusError, TooLarge
from cognition.paths import DataPaths
from cognition.settings import CrawlSettings
from ingest.web.guard import AddressGuard
from ingest.web.urls import normalize

_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
)
_HEAD_LIMIT = 64 * 1024
_START_SECONDS = 30.0
_RENDER_FACTOR = 3  # a render may take this many request timeouts (load, scripts, DOM)


class GuardProxy:
    """A forward HTTP proxy on 127.0.0.1 that connects only where the guard allows.

    ``CONNECT host:port`` (HTTPS, WebSockets over TLS) is tunnelled; a plain ``GET
    http://...`` is forwarded with ``Connection: close``. ``refused`` lists what was blocked.
    """

    def __init__(self, guard: AddressGuard, timeout: float, hosts: Sequence[str] = ()) -> None:
        self._guard, self._timeout = guard, timeout
        self.hosts = {h.lower() for h in hosts}  # the only hosts reached (the crawl's)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.refused: list[tuple[str, str]] = []  # target, reason
        self.port = 0
        self.private_ports: set[int] = set()  # loopback ports pages never reach (ours, DevTools)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.private_ports.add(self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._handle(reader, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a malformed or dropped request: the browser sees the connection close
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._timeout)
        if len(head) > _HEAD_LIMIT:
            return
        line, *fields = head.decode("latin-1").split("\r\n")
        method, target, version = [*line.split(" ", 2), "", ""][:3]
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port, first = int(port_text or 443), b""
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                await _answer(writer, 400, "only http:// URLs and CONNECT are proxied")
                return
            host, port = parts.hostname, parts.port or 80
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [f for f in fields if f and f.split(":", 1)[0].strip().lower() not in _HOP_HEADERS]
            request = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
            first = "\r\n".join(request).encode("latin-1")
        try:
            upstream_reader, upstream_writer = await self._connect(host.strip("[]").lower(), port)
        except CognitionError as exc:
            self.refused.append((target, str(exc)))
            await _answer(writer, 403, str(exc))
            return
        self._writers.add(upstream_writer)
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                upstream_writer.write(first)
            await asyncio.gather(
                _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
            )
        finally:
            self._writers.discard(upstream_writer)
            upstream_writer.close()

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to an address of ``host`` the guard has checked (all of them are)."""
        if host not in self.hosts:
            raise BlockedUrl(f"blocked: {host} is not one of the crawl's hosts")
        addresses = await self._guard.resolve(host, port)
        if port in self.private_ports and any(a.is_loopback for a in addresses):
            raise BlockedUrl(f"blocked: {host}:{port} is the crawler's own browser or proxy")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await asyncio.wait_for(asyncio.open_connection(str(address), port), self._timeout)
            except (OSError, TimeoutError) as exc:
                failure = exc
        raise FetchFailed(f"connection to {host}:{port} failed: {failure}")


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    body = reason.encode()
    writer.write(
        f"HTTP/1.1 {status} Refused\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def resolver_rules(hosts: Sequence[str]) -> str:
    """Chromium's ``--host-resolver-rules``: every name is "not found" but ``hosts`` and the
    proxy's address (other IP literals need no resolving and are left out)."""
    names = sorted({h.lower() for h in hosts if h and not _is_ip(h)})
    return ", ".join(["MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1", *(f"EXCLUDE {name}" for name in names)])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


_QUIET = (  # Chromium features that call Google's services on their own
    "NetworkTimeServiceQuerying",
    "OptimizationHints",
    "OptimizationHintsFetching",
    "OptimizationGuideModelDownloading",
    "AutofillServerCommunication",
    "CertificateTransparencyComponentUpdater",
    "InterestFeedContentSuggestions",
    "MediaRouter",
    "DialMediaRouteProvider",
    "Translate",
    "LensOverlay",
    "SafeBrowsingEnhancedProtection",
)


def chromium_flags(profile: Path, proxy_port: int, hosts: Sequence[str]) -> list[str]:
    flags = [
        "--headless=new",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",
        f"--host-resolver-rules={resolver_rules(hosts)}",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-gpu",
        "--disable-extensions",
        "--disable-breakpad",
        "--disable-domain-reliability",
        "--disable-field-trial-config",
        "--disable-client-side-phishing-detection",
        "--disable-component-extensions-with-background-pages",
        "--disable-default-apps",
        "--safebrowsing-disable-auto-update",
        "--disable-search-engine-choice-screen",
        f"--disable-features={','.join(_QUIET)}",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-service-autorun",
        "--no-pings",
        "--password-store=basic",
        "--use-mock-keychain",
        "--metrics-recording-only",
        "--mute-audio",
    ]
    if os.geteuid() == 0:  # Chromium will not start as root with its sandbox
        flags.append("--no-sandbox")
    return [*flags, "about:blank"]


class Browser:
    """One headless Chromium for one crawl, behind the guard's proxy. An async context."""

    def __init__(
        self, settings: CrawlSettings, guard: AddressGuard, paths: DataPaths, hosts: Sequence[str]
    ) -> None:
        self._settings, self._guard, self._paths = settings, guard, paths
        self._hosts = list(hosts)
        self.proxy = GuardProxy(guard, settings.timeout_seconds, self._hosts)
        self._process: subprocess.Popen[bytes] | None = None
        self._home: Path | None = None
        self._tmp: Path | None = None
        self._crawler: Any = None
        self._run_config: Any = None

    async def __aenter__(self) -> Browser:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop()

    async def render(self, url: str) -> str:
        """The DOM of ``url`` after Chromium has loaded it and run its scripts.

        crawl4ai's page strategy, not ``arun``: ``arun`` would also scrape and convert the
        page (done later, our way) and fail small pages as "blocked by anti-bot protection".
        """
        self.proxy.hosts.add(urlsplit(url).hostname or "")  # the fetcher approved it
        seconds = _RENDER_FACTOR * self._settings.timeout_seconds
        strategy = self._crawler.crawler_strategy
        try:
            result = await asyncio.wait_for(strategy.crawl(url, config=self._run_config), seconds)
        except TimeoutError as exc:
            raise FetchFailed(f"rendering timed out after {seconds:g} s") from exc
        except Exception as exc:  # Playwright's errors: navigation failed, page crashed
            raise CrawlError(f"the browser could not render the page: {exc}", permanent=False) from exc
        status = int(result.status_code or 200)
        if status >= 400:  # e.g. the proxy refused what the name resolves to now (rebinding)
            raise HttpStatusError(status)
        landed = normalize(str(result.redirected_url or url))
        if landed != normalize(url):
            raise CrawlError(f"the browser ended on {landed}, not the fetched URL")
        html = str(result.html or "")
        cap = self._settings.max_bytes
        if len(html.encode()) > cap:
            raise TooLarge(f"the rendered page exceeds the {cap}-byte cap")
        return html

    async def _start(self) -> None:
        from crawl4ai import AsyncWebCrawler, BrowserConfig, CacheMode, CrawlerRunConfig

        chromium = shutil.which(self._settings.chromium_path)
        if chromium is None:
            raise CrawlError(
                f"browser mode needs Chromium at {self._settings.chromium_path} (scripts/system-deps.sh)"
            )
        await self.proxy.start()
        root = self._paths.browser
        root.mkdir(parents=True, exist_ok=True)
        self._home = Path(tempfile.mkdtemp(prefix="chromium-", dir=root))
        profile = self._home / "profile"
        profile.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CHROME_", "CHROMIUM_"))}
        # Its singleton socket goes in TMPDIR (cognee's, in the data directory): a path past a
        # Unix socket's 107 bytes aborts Chromium at start. A short directory, removed with it.
        short = "/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else self._home
        self._tmp = Path(tempfile.mkdtemp(prefix="cognition-chromium-", dir=short))
        env.update(
            HOME=str(self._home),
            XDG_CONFIG_HOME=str(self._home / "config"),
            XDG_CACHE_HOME=str(self._home / "cache"),
            XDG_DATA_HOME=str(self._home / "data"),
            TMPDIR=str(self._tmp),
        )
        for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):  # only our proxy
            env.pop(name, None)
            env.pop(name.upper(), None)
        self._process = subprocess.Popen(
            [chromium, *chromium_flags(profile, self.proxy.port, self._hosts)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its helpers die with it
        )
        port, cdp_url = await self._endpoint(profile / "DevToolsActivePort")
        self.proxy.private_ports.add(port)
        browser_config = BrowserConfig(
            cdp_url=cdp_url,
            create_isolated_context=True,
            cdp_cleanup_on_close=True,  # disconnect and stop Playwright's driver on close
            cdp_close_delay=0,
            user_agent=self._settings.user_agent,
            ignore_https_errors=False,
            accept_downloads=False,
            verbose=False,
        )
        self._run_config = CrawlerRunConfig(
            cache_mode=CacheMode.BYPASS,
            wait_until="load",
            page_timeout=int(self._settings.timeout_seconds * 1000),
            verbose=False,
        )
        os.environ.setdefault("CRAWL4AI_NO_CLOUD_NOTICE", "1")  # its advertisement on stderr
        base = self._paths.crawl4ai
        base.mkdir(parents=True, exist_ok=True)
        self._crawler = AsyncWebCrawler(config=browser_config, base_directory=str(base))
        await self._crawler.start()

    async def _endpoint(self, active_port: Path) -> tuple[int, str]:
        """The browser's DevTools port and CDP WebSocket, from the file Chromium writes once
        it listens."""
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise CrawlError(f"Chromium exited with status {self._process.returncode} at start")
            lines = active_port.read_text().split() if active_port.exists() else []
            if len(lines) == 2:
                return int(lines[0]), f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(0.1)
        raise CrawlError(f"Chromium did not start within {_START_SECONDS:g} s")

    async def _stop(self) -> None:
        if self._crawler is not None:
            with contextlib.suppress(Exception):
                await self._crawler.close()
            self._crawler = None
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                await asyncio.to_thread(self._process.wait)
            self._process = None
        await self.proxy.close()
        for made in (self._home, self._tmp):
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
        self._home = self._tmp = None
