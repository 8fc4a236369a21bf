"""Crawling real sites served on 127.0.0.1: the shared MkDocs build and pages set by a test."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bench.sites import Route, SiteServer, serve_site
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import Searcher
from cognition.settings import CrawlSettings, Settings
from cognition.store.port import Store
from ingest.catalog import dataset_overview
from ingest.service import run_crawl
from ingest.web.spec import CrawlSpec
from tests.helpers import CLI_TIMEOUT, REPO_ROOT, subprocess_env

HINT = "allow it with COGNITION_CRAWL__ALLOW_NETWORKS"
BLOCKED_LOOPBACK = f"blocked: 127.0.0.1 is a loopback address ({HINT})"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serve_site(robots="User-agent: *\nDisallow: /CHANGELOG/\n") as server:
        yield server


@pytest.fixture
def local(settings: Settings) -> Settings:
    """The session's settings, allowed to reach 127.0.0.1, with no politeness delay."""
    crawl = CrawlSettings(allow_networks=["127.0.0.0/8"], delay_seconds=0, max_depth=10, max_pages=200)
    return settings.model_copy(update={"crawl": crawl})


async def test_a_documentation_site_is_crawled_into_pages_with_url_provenance(
    runtime: Runtime,
    local: Settings,
    store: Store,
    ledger: Ledger,
    searcher: Searcher,
    site: SiteServer,
    dataset_name: str,
) -> None:
    seeds = [site.url("/"), site.url("/index.html"), site.url("/404.html")]

    summary = (await run_crawl(replace(runtime, settings=local), seeds, dataset_name)).to_json()
    rows = ledger.documents(dataset_name)
    stored = {r.source for r in rows if r.state == "stored"}
    answered = {site.url(p) for p in site.requests if p not in ("/robots.txt", "/index.html")}
    dead = {site.url(p) for p in site.requests if p.startswith("/gfm-rag/main/")}
    hits = await searcher.search("How do I install GFM-RAG with conda?", [dataset_name], "hybrid", 3)

    # 46 pages are linked from / and /404.html (2 of the site's 48 are orphans); robots.txt
    # keeps the changelog out, and /index.html is / again: 45 pages, each a document.
    assert summary["added"] == len(stored) == len(answered - dead) == 45
    assert "/CHANGELOG/" not in site.requests
    assert {"path": site.url("/CHANGELOG/"), "reason": "skipped: disallowed by robots.txt"} in summary[
        "skipped_reasons"
    ]
    assert {
        "path": site.url("/index.html"),
        "reason": f"skipped: same content as {site.url('/')}",
    } in summary["skipped_reasons"]
    assert sorted(summary["failed"], key=str) == sorted(
        ({"path": u, "reason": "HTTP 404"} for u in dead), key=str
    )
    assert len(dead) == 8  # the 404 page's navigation points under /gfm-rag/main/
    assert {(r.source, r.error, r.permanent, r.kind) for r in rows if r.state == "failed"} == {
        (u, "HTTP 404", 1, "web") for u in dead
    }
    assert dataset_overview(ledger)[dataset_name] == {"stored": 45, "failed": 8}
    assert site.requests.count("/install/") == 1  # linked from every page, fetched once
    assert all(h.source.startswith(site.base + "/") for h in hits)
    install = [h for h in hits if h.source == site.url("/install/")]
    assert install and install[0].document_title == "Install - GFM-RAG"


async def test_by_default_the_guard_refuses_loopback_and_sends_nothing(
    runtime: Runtime, settings: Settings, ledger: Ledger, site: SiteServer, dataset_name: str
) -> None:
    no_delay = settings.model_copy(update={"crawl": CrawlSettings(delay_seconds=0)})
    seeds = [site.url("/"), site.url("/install/"), "http://localhost:1/"]

    summary = (await run_crawl(replace(runtime, settings=no_delay), seeds, dataset_name)).to_json()

    assert site.requests == []
    reasons = {f["path"]: f["reason"] for f in summary["failed"]}
    assert reasons[seeds[0]] == reasons[seeds[1]] == BLOCKED_LOOPBACK
    assert reasons[seeds[2]].startswith("blocked: ")  # localhost: 127.0.0.1 and/or ::1
    assert (summary["added"], summary["pages"]) == (0, 0)
    assert {r.source: r.state for r in ledger.documents(dataset_name)} == dict.fromkeys(seeds, "failed")


async def test_redirects_are_checked_hop_by_hop_and_bounded(
    runtime: Runtime, local: Settings, ledger: Ledger, site: SiteServer, dataset_name: str
) -> None:
    site.redirect("/to-private", "http://10.0.0.5/admin")
    site.redirect("/to-metadata", "/hop")
    site.redirect("/hop", "http://169.254.169.254/latest/meta-data/")
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    site.redirect("/far", "/far1")
    for n in range(1, 7):
        site.redirect(f"/far{n}", f"/far{n + 1}")
    seeds = [site.url(p) for p in ("/to-private", "/to-metadata", "/loop-a", "/far")]

    summary = (
        await run_crawl(replace(runtime, settings=local), CrawlSpec(tuple(seeds), max_depth=0), dataset_name)
    ).to_json()
    reasons = {f["path"].removeprefix(site.base): f["reason"] for f in summary["failed"]}

    assert reasons == {
        "/to-private": f"blocked: 10.0.0.5 is a private address ({HINT})",
        "/to-metadata": f"blocked: 169.254.169.254 is a cloud metadata address ({HINT})",
        "/loop-a": f"redirect loop: {site.url('/loop-b')} -> {site.url('/loop-a')}",
        "/far": f"more than 5 redirects, last to {site.url('/far6')}",
    }
    assert "/far6" not in site.requests  # the sixth hop is never requested
    assert {r.permanent for r in ledger.documents(dataset_name)} == {1}


async def test_non_html_and_empty_pages_are_skipped_server_errors_are_transient_and_size_is_capped(
    runtime: Runtime, local: Settings, ledger: Ledger, site: SiteServer, dataset_name: str
) -> None:
    site.routes["/manual.pdf"] = Route(body=b"%PDF-1.7 ...", content_type="application/pdf")
    site.routes["/broken/"] = Route(status=503, body=b"down for maintenance")
    huge = b"<html><body><p>" + b"x" * 20_000 + b"</p></body></html>"
    site.routes["/huge/"] = Route(body=huge)
    small = local.model_copy(update={"crawl": local.crawl.model_copy(update={"max_bytes": 10_000})})
    site.routes["/empty/"] = Route(body=b"<!-- nothing here -->")
    seeds = [site.url(p) for p in ("/manual.pdf", "/LICENSE.Apache-2.0.txt", "/broken/", "/huge/", "/empty/")]

    summary = (
        await run_crawl(replace(runtime, settings=small), CrawlSpec(tuple(seeds), max_depth=0), dataset_name)
    ).to_json()
    failed = {
        r.source.removeprefix(site.base): (r.error, r.permanent) for r in ledger.documents(dataset_name)
    }

    assert summary["skipped_reasons"] == [
        {"path": seeds[0], "reason": "skipped: content type application/pdf"},
        {"path": seeds[1], "reason": "skipped: content type text/plain"},
        {"path": seeds[4], "reason": "skipped: no text"},
    ]
    assert failed == {
        "/broken/": ("HTTP 503", 0),
        "/huge/": (f"response of {len(huge)} bytes exceeds the 10000-byte cap", 1),
    }


async def test_a_recrawl_skips_unchanged_pages_and_replaces_a_changed_one(
    runtime: Runtime,
    local: Settings,
    store: Store,
    ledger: Ledger,
    searcher: Searcher,
    site: SiteServer,
    dataset_name: str,
) -> None:
    site.page("/stable/", "Stable", "<p>The lighthouse keeper logs every passing ship in the harbour.</p>")
    site.page("/news/", "News", "<p>The harbour bakery sells rye bread on Mondays.</p>")
    spec = CrawlSpec((site.url("/stable/"), site.url("/news/")), max_depth=0)

    first = (await run_crawl(replace(runtime, settings=local), spec, dataset_name)).to_json()
    old = {r.source: r.doc_id for r in ledger.documents(dataset_name)}
    second = (await run_crawl(replace(runtime, settings=local), spec, dataset_name)).to_json()
    site.page("/news/", "News", "<p>The harbour bakery now sells sourdough pretzels on Fridays.</p>")
    third = (await run_crawl(replace(runtime, settings=local), spec, dataset_name)).to_json()
    rows = {r.source: r for r in ledger.documents(dataset_name)}
    stats = await store.stats(dataset_name)
    hits = await searcher.search("What does the bakery sell?", [dataset_name], "vector", 5)

    assert [(s["added"], s["skipped"], s["replaced"]) for s in (first, second, third)] == [
        (2, 0, 0),
        (0, 2, 0),
        (0, 1, 1),
    ]
    assert set(rows) == {site.url("/stable/"), site.url("/news/")}
    assert rows[site.url("/stable/")].doc_id == old[site.url("/stable/")]
    assert rows[site.url("/news/")].doc_id != old[site.url("/news/")]
    assert (stats.documents, rows[site.url("/news/")].state) == (2, "stored")
    assert [h.source for h in hits if "bakery" in h.text] == [site.url("/news/")]
    assert all("pretzels" in h.text for h in hits if "bakery" in h.text)


async def test_a_page_reached_twice_is_fetched_and_stored_once(
    runtime: Runtime, local: Settings, store: Store, ledger: Ledger, site: SiteServer, dataset_name: str
) -> None:
    links = '<a href="/guide/">guide</a> <a href="../guide/#setup">setup</a> <a href="/mirror/">mirror</a>'
    site.page("/hub/", "Hub", f"<p>Start here.</p>{links}")
    site.page("/guide/", "Guide", '<p>The guide explains the tide tables.</p><a href="/hub/#top">back</a>')
    site.routes["/mirror/"] = site.routes["/guide/"]  # another URL, the same page
    seeds = (site.url("/hub/"), site.url("/hub/#again"), site.url("/guide/"))

    summary = (
        await run_crawl(replace(runtime, settings=local), CrawlSpec(seeds, max_depth=2), dataset_name)
    ).to_json()
    stats = await store.stats(dataset_name)

    assert (site.requests.count("/hub/"), site.requests.count("/guide/")) == (1, 1)
    assert summary["added"] == stats.documents == 2
    assert summary["skipped_reasons"] == [
        {"path": site.url("/mirror/"), "reason": f"skipped: same content as {site.url('/guide/')}"}
    ]
    assert sorted(r.source for r in ledger.documents(dataset_name)) == [
        site.url("/guide/"),
        site.url("/hub/"),
    ]


# The real CLI in a process of its own, with an audit hook installed before anything is
# imported and an empty HOME: a crawl opens no non-loopback socket and writes only under the
# data directory (crawl4ai's folders included).
OFFLINE_CRAWL = r"""
import ipaddress, json, sys

contacted = []


def audit(event, args):
    if event in ("socket.connect", "socket.sendto"):
        contacted.append(args[1])
    elif event == "socket.getaddrinfo":
        contacted.append((args[0],))


sys.addaudithook(audit)

from bench.sites import serve_site
from cli.main import main


def loopback(address):
    if isinstance(address, (str, bytes)):
        return True
    host = address[0].decode() if isinstance(address[0], bytes) else address[0]
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


with serve_site() as site:
    sys.argv = ["cognition", "crawl", site.url("/"), "--dataset", "docs", "--max-pages", "4", "--json"]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
offending = [repr(a) for a in contacted if not loopback(a)]
print("RESULT " + json.dumps({"code": code, "contacted": len(contacted), "offending": offending}))
"""


def test_the_crawl_command_stays_on_loopback_and_writes_only_to_the_data_directory(
    tmp_path: Path,
) -> None:
    script, home, data_dir = tmp_path / "crawl.py", tmp_path / "home", tmp_path / "data"
    script.write_text(OFFLINE_CRAWL)
    home.mkdir()
    env = subprocess_env(
        data_dir,
        home,
        PYTHONPATH=str(REPO_ROOT),
        COGNITION_CRAWL__ALLOW_NETWORKS="127.0.0.1/32",
        COGNITION_CRAWL__DELAY_SECONDS="0",
    )

    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    marked = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert marked, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(marked[-1].removeprefix("RESULT "))
    summary = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])

    assert (result["code"], result["offending"]) == (0, [])
    assert result["contacted"] >= 5  # robots.txt and four pages
    assert (summary["added"], summary["pages"], summary["failed"]) == (4, 4, [])
    # Nothing in HOME, neither of the crawl's nor of the store's (Ladybug's extensions).
    assert list(home.iterdir()) == []
    assert (data_dir / "crawl4ai" / ".crawl4ai").is_dir()
