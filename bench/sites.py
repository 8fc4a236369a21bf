"""The shared bench sites, served by a real HTTP server on 127.0.0.1 (crawl tests, bench).

It serves a folder read-only (the MkDocs build in ``../shared/bench/sites``), answers
``/robots.txt`` with the rules it is given, serves extra routes set by a test (pages that
change, redirects, PDFs), and records every request path it receives.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "sites" / "gfm-rag-docs-mkdocs"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SiteServer:
    base: str  # http://127.0.0.1:PORT
    robots: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, title: str, body: str) -> None:
        html = f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>"
        self.routes[path] = Route(body=html.encode())

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": location})


class _Handler(SimpleHTTPRequestHandler):
    server_state: SiteServer

    def do_GET(self) -> None:
        state = self.server_state
        state.requests.append(self.path)
        route = state.routes.get(self.path)
        if route is None and self.path == "/robots.txt":
            route = Route(body=state.robots.encode(), content_type="text/plain")
        if route is None:
            super().do_GET()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def serve_site(
    folder: Path = SITE, robots: str = "User-agent: *\nDisallow:\n", host: str = "127.0.0.1"
) -> Iterator[SiteServer]:
    """Serve ``folder`` on a free port of ``host`` (a loopback address) until the block ends."""
    state = SiteServer(base="", robots=robots)
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer((host, 0), functools.partial(handler, directory=str(folder)))
    server.daemon_threads = True
    state.base = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
