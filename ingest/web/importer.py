"""A crawl into a dataset: pages become documents, dead links become ledger failures.

Each page is one document (source = its final URL, title, content hash = sha256 of its
markdown, text = the markdown), stored by ``RecordImporter`` in one pipeline run. A re-crawl
skips a page whose URL and markdown are unchanged and replaces one whose markdown changed.
A URL that fails (HTTP 404, blocked, timed out, ...) gets a ``failed`` ledger row with the
reason and whether it is permanent, so ``cognition datasets`` counts it.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from cognition.budget import BudgetExhausted, charging, current
from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.errors import CrawlError
from cognition.ledger import Failure, Ledger
from cognition.paths import DataPaths
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.importer import STOPPED, account_for, stopped_report
from ingest.outcomes import CrawlSummary, NoProgress, Outcome, Progress
from ingest.pipeline import PIPELINE_VERSION
from ingest.records import RecordImporter, TextRecord
from ingest.web.convert import load_crawl4ai
from ingest.web.crawler import Crawler, CrawlReport, Page
from ingest.web.fetch import Fetcher
from ingest.web.guard import AddressGuard
from ingest.web.spec import CrawlSpec

KIND = "web"


async def crawl(settings: Settings, spec: CrawlSpec) -> CrawlReport:
    """Fetch and convert (nothing is stored)."""
    paths = DataPaths.of(settings)
    load_crawl4ai(paths.crawl4ai)
    guard = AddressGuard(settings.crawl.allow_networks)
    async with Fetcher(settings.crawl, guard) as fetcher:
        if not settings.crawl.browser:
            return await Crawler(settings.crawl, fetcher, spec).run()
        from ingest.web.browser import Browser

        hosts = [urlsplit(seed).hostname or "" for seed in spec.seeds]
        async with Browser(settings.crawl, guard, paths, hosts) as browser:
            return await Crawler(settings.crawl, fetcher, spec, browser.render).run()


async def crawl_into(
    runtime: Runtime, spec: CrawlSpec, dataset: str, progress: Progress | None = None
) -> CrawlSummary:
    """Crawl ``spec`` into ``dataset``; the store is started only if a page is to be stored."""
    started = time.perf_counter()
    validate_dataset_name(dataset)
    ledger = runtime.ledger
    ledger.register_dataset(dataset)
    progress = progress or NoProgress()
    report = await crawl(runtime.settings, spec)
    summary = CrawlSummary(dataset=dataset)
    summary.outcomes += [_failed(ledger, dataset, url, exc) for url, exc in report.failed]
    summary.outcomes += [Outcome(url, "skipped", reason) for url, reason in report.skipped]
    for outcome in summary.outcomes:
        progress.document_finished(outcome)
    if report.pages:
        progress.planned(len(report.pages), len(report.pages))
        importer = RecordImporter(runtime)
        try:
            with charging(current() or account_for(runtime, dataset)):
                records = _records(report.pages)
                stored = await importer.import_records(dataset, records, replace_same_source=True)
        except BudgetExhausted as exc:  # the pages are fetched again by the next crawl
            left = [page.url for page in report.pages]
            summary.outcomes += [Outcome(url, "failed", f"{STOPPED} {exc}") for url in left]
            summary.budget = stopped_report(exc, left)
            summary.seconds = time.perf_counter() - started
            return summary
        for page in report.pages:
            status = stored.status[page.url]
            done = status != "skipped"
            outcome = Outcome(page.url, status, pages=int(done), chunks=stored.chunks_of.get(page.url, 0))
            _forget_failures(ledger, dataset, page.url)
            ledger.update(dataset, document_id(dataset, page.content_hash), fetched_at=page.fetched_at)
            progress.document_started(page.url, 1)
            progress.pages_done(1)
            progress.document_finished(outcome)
            summary.outcomes.append(outcome)
    summary.seconds = time.perf_counter() - started
    return summary


def _records(pages: list[Page]) -> list[TextRecord]:
    return [TextRecord(p.url, p.title, p.markdown, kind=KIND, digest=p.content_hash) for p in pages]


def _forget_failures(ledger: Ledger, dataset: str, url: str) -> None:
    """A page that works now drops the failures recorded for it earlier."""
    for row in ledger.by_source(dataset, url):
        if row.state == "failed":
            ledger.delete(dataset, row.doc_id)


def _failed(ledger: Ledger, dataset: str, url: str, exc: CrawlError) -> Outcome:
    """Record a URL that could not be imported (one row per URL, its attempts counted)."""
    doc_id = str(stable_id("failed", dataset, url))
    ledger.record_failure(
        Failure(dataset, doc_id, url, "", KIND, str(exc), PIPELINE_VERSION, permanent=exc.permanent)
    )
    return Outcome(url, "failed", str(exc))
