"""Browser mode: a real Chromium renders pages of a real site on 127.0.0.1, behind the guard.

Chromium comes from Debian (``scripts/system-deps.sh`` installs it); these tests are not
skipped without it.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
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
from ingest.service import run_crawl
from ingest.web.browser import GuardProxy
from ingest.web.guard import AddressGuard
from ingest.web.importer import crawl
from ingest.web.spec import CrawlSpec
from tests.helpers import CLI_TIMEOUT, REPO_ROOT, cli_command, last_json_line, subprocess_env

HINT = "allow it with COGNITION_CRAWL__ALLOW_NETWORKS"
FERRY = "The ferry to Skye leaves the harbour at nine every morning."

# The page's text arrives by script: a (synchronous) request for /facts.txt, run while the
# page loads. Without JavaScript the page says only "Loading the timetable".
APP = """<html><head><title>Tide app</title></head><body><article><h1>Tide app</h1>
<p id="out">Loading the timetable</p><p id="probe">probe not run</p></article>
<script>
var facts = new XMLHttpRequest();
facts.open("GET", "/facts.txt", false);
facts.send();
document.getElementById("out").textContent = facts.responseText;
</script>
<script>
var target = PROBE;
if (target) {
  try {
    var probe = new XMLHttpRequest();
    probe.open("GET", target, false);
    probe.send();
    document.getElementById("probe").textContent = "probe status " + probe.status;
  } catch (error) {
    document.getElementById("probe").textContent = "probe failed";
  }
}
</script></body></html>"""


def app(site: SiteServer, probe: str = "") -> None:
    site.routes["/tide/"] = Route(body=APP.replace("PROBE", repr(probe)).encode())
    site.routes["/facts.txt"] = Route(body=FERRY.encode(), content_type="text/plain; charset=utf-8")


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serve_site() as server:
        app(server)
        yield server


def crawl_settings(settings: Settings, browser: bool, allow: list[str]) -> Settings:
    crawl = CrawlSettings(allow_networks=allow, delay_seconds=0, browser=browser)
    return settings.model_copy(update={"crawl": crawl})


async def test_browser_mode_stores_text_that_only_javascript_shows_with_its_url(
    runtime: Runtime,
    settings: Settings,
    store: Store,
    ledger: Ledger,
    searcher: Searcher,
    site: SiteServer,
    dataset_name: str,
) -> None:
    spec = CrawlSpec((site.url("/tide/"),), max_depth=0)
    plain, rendered = f"{dataset_name}-plain", f"{dataset_name}-browser"

    first = await run_crawl(
        replace(runtime, settings=crawl_settings(settings, False, ["127.0.0.1/32"])), spec, plain
    )
    plain_requests = list(site.requests)
    started = time.perf_counter()
    second = await run_crawl(
        replace(runtime, settings=crawl_settings(settings, True, ["127.0.0.1/32"])), spec, rendered
    )
    seconds = time.perf_counter() - started
    question = "When does the ferry to Skye leave?"
    plain_hits = await searcher.search(question, [plain], "vector", 3)
    rendered_hits = await searcher.search(question, [rendered], "vector", 3)

    assert (first.to_json()["added"], second.to_json()["added"]) == (1, 1)
    assert plain_requests == ["/robots.txt", "/tide/"]  # no script ran: /facts.txt never asked
    assert "/facts.txt" in site.requests  # the browser's own request, through the guard's proxy
    assert plain_hits and not any("Skye" in h.text for h in plain_hits)
    assert any("Loading the timetable" in h.text for h in plain_hits)
    assert [h.source for h in rendered_hits if FERRY in h.text] == [site.url("/tide/")]
    assert {r.source for r in ledger.documents(rendered) if r.state == "stored"} == {site.url("/tide/")}
    print(f"browser mode: one page in {seconds:.2f} s (Chromium start included)")


async def test_browser_mode_still_refuses_loopback_without_the_allowlist(
    runtime: Runtime, settings: Settings, ledger: Ledger, site: SiteServer, dataset_name: str
) -> None:
    seeds = (site.url("/tide/"), "http://localhost:1/")

    summary = (
        await run_crawl(
            replace(runtime, settings=crawl_settings(settings, True, [])), CrawlSpec(seeds), dataset_name
        )
    ).to_json()
    reasons = {f["path"]: f["reason"] for f in summary["failed"]}

    assert site.requests == []
    assert reasons[seeds[0]] == f"blocked: 127.0.0.1 is a loopback address ({HINT})"
    assert reasons[seeds[1]].startswith("blocked: ")
    assert {r.source: r.state for r in ledger.documents(dataset_name)} == dict.fromkeys(seeds, "failed")


async def test_a_rendered_page_cannot_reach_an_address_outside_the_allowlist(
    settings: Settings, site: SiteServer
) -> None:
    """The page on 127.0.0.1 (allowed) asks, from its script, for a page on 127.0.0.2 (not
    allowed, not the crawl's): the browser's proxy refuses it, the server there sees nothing."""
    with serve_site(host="127.0.0.2") as secret:
        secret.page("/admin/", "Admin", "<p>The vault code is 4711.</p>")
        app(site, probe=secret.url("/admin/"))
        local = crawl_settings(settings, True, ["127.0.0.1/32"])
        report = await crawl(local, CrawlSpec((site.url("/tide/"),), max_depth=0))

    assert (report.failed, [p.url for p in report.pages]) == ([], [site.url("/tide/")])
    markdown = report.pages[0].markdown
    assert FERRY in markdown  # the page's scripts ran
    assert "probe failed" in markdown  # the probe ran, and got nothing
    assert "vault" not in markdown
    assert secret.requests == []


# A data directory whose path is long: cognee points TMPDIR into it, and Chromium's singleton
# socket there would pass a Unix socket's 107 bytes (Chromium aborted at start).
LONG = "a-data-directory-on-a-volume-with-a-long-mount-path/" * 2 + "data"


@pytest.mark.parametrize("where", ["data", LONG], ids=["data-dir", "long-data-dir"])
def test_the_crawl_command_renders_with_browser_and_writes_only_to_the_data_directory(
    tmp_path: Path, site: SiteServer, where: str
) -> None:
    home, data_dir = tmp_path / "home", tmp_path / where
    home.mkdir()
    # as in a worker or server where cognee was loaded first: TMPDIR is its, in the data directory
    cognee_tmp = data_dir / "cognee" / "tmp"
    cognee_tmp.mkdir(parents=True)
    env = subprocess_env(
        data_dir, home, COGNITION_CRAWL__ALLOW_NETWORKS="127.0.0.1/32", TMPDIR=str(cognee_tmp)
    )
    command = cli_command("crawl", site.url("/tide/"), "--dataset", "app", "--max-depth", "0", "--browser")
    started = time.time() - 1

    done = subprocess.run(
        [*command, "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    summary = last_json_line(done.stdout) if done.returncode == 0 else {}

    assert (summary.get("added"), summary.get("failed")) == (1, []), done.stdout[-2000:] + done.stderr[-3000:]
    assert "/facts.txt" in site.requests
    # Nothing in HOME; the browser's profile is gone.
    assert list(home.iterdir()) == []
    assert list((data_dir / "browser").iterdir()) == []
    assert not [p for p in Path("/tmp").glob("cognition-chromium-*") if p.stat().st_mtime >= started]


async def proxy_get(proxy: GuardProxy, url: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"GET {url} HTTP/1.1\r\nHost: {url.split('/')[2]}\r\n\r\n".encode())
    await writer.drain()
    reply = await reader.read()
    writer.close()
    return reply


async def test_the_browsers_proxy_applies_the_guard_to_the_address_it_connects_to(site: SiteServer) -> None:
    """Even a host of the crawl is reached only if the guard allows its address."""
    with serve_site(host="127.0.0.2") as other:
        proxy = GuardProxy(AddressGuard(["127.0.0.1/32"]), 5.0, ["127.0.0.1", "127.0.0.2"])
        await proxy.start()
        try:
            allowed = await proxy_get(proxy, site.url("/facts.txt"))
            refused = await proxy_get(proxy, other.url("/admin/"))
            elsewhere = await proxy_get(proxy, "http://10.0.0.5/")  # not one of the crawl's hosts
        finally:
            await proxy.close()

    assert allowed.startswith(b"HTTP/1.0 200") and allowed.endswith(FERRY.encode())
    assert refused.startswith(b"HTTP/1.1 403")
    assert refused.endswith(f"blocked: 127.0.0.2 is a loopback address ({HINT})".encode())
    assert elsewhere.endswith(b"blocked: 10.0.0.5 is not one of the crawl's hosts")
    assert other.requests == []
