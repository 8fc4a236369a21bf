"""A crawl stays on its seeds' sites even when a link redirects elsewhere: the redirect's
target is refused before any request is sent to it."""

from __future__ import annotations

from bench.sites import serve_site
from cognition.settings import CrawlSettings, Settings
from ingest.web.importer import crawl
from ingest.web.spec import CrawlSpec

TEXT = "Git keeps every object in its object database, addressed by the hash of its content."


async def test_a_link_that_redirects_to_another_port_is_not_fetched(settings: Settings) -> None:
    local = settings.model_copy(
        update={"crawl": CrawlSettings(allow_networks=["127.0.0.0/8"], delay_seconds=0, max_depth=3)}
    )
    with serve_site() as site, serve_site() as elsewhere:
        site.page("/", "Home", f'<p>{TEXT}</p><a href="/away">away</a> <a href="/next">next</a>')
        site.redirect("/away", elsewhere.url("/landing"))
        site.page("/next", "Next", f"<p>{TEXT} Trees list blobs.</p>")
        elsewhere.page("/landing", "Landing", f"<p>{TEXT} Elsewhere.</p>")

        report = await crawl(local, CrawlSpec((site.url("/"),)))

    assert elsewhere.requests == []
    assert (site.url("/away"), f"skipped: redirects out of the crawl to {elsewhere.url('/landing')}") in (
        report.skipped
    )
    assert [p.url for p in report.pages] == [site.url("/"), site.url("/next")]
    assert report.failed == []


async def test_a_seed_that_redirects_to_another_site_is_still_followed(settings: Settings) -> None:
    local = settings.model_copy(
        update={"crawl": CrawlSettings(allow_networks=["127.0.0.0/8"], delay_seconds=0)}
    )
    with serve_site() as old, serve_site() as moved:
        old.redirect("/", moved.url("/"))
        moved.page("/", "Moved", f"<p>{TEXT}</p>")

        report = await crawl(local, CrawlSpec((old.url("/"),), max_depth=0))

    assert [p.url for p in report.pages] == [moved.url("/")]
