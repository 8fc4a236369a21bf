"""A crawl into a dataset: pages become documents, dead links become ledger failures.

Each page is one document (source = its final URL, title, content hash = sha256 of its
markdown, text = the markdown), stored by ``RecordImporter`` in one pipeline run. A re-crawl
skips a page whose URL and markdown are unchanged and replaces one whose markdown changed.
A URL that fails (HTTP 404, blocked, timed out, ...) gets a ``failed`` ledger row with the
reason and whether it is permanent, so ``cognition datasets`` counts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from cognition.datasets import document_id, stable_id, validate_dataset_name
from cognition.errors import CrawlError
from cognition.gate import WriteGate
from cognition.settings import Settings
from cognition.store.port import Store
from ingest.extract.port import GraphExtractor
from ingest.importer import ImportSummary, NoProgress, Outcome, Progress
from ingest.ledger import DocumentRecord, Ledger
from ingest.pipeline import PIPELINE_VERSION
from ingest.records import RecordImporter, TextRecord
from ingest.web.convert import load_crawl4ai
from ingest.web.crawler import Crawler, CrawlReport, Page
from ingest.web.fetch import Fetcher
from ingest.web.guard import AddressGuard
from ingest.web.spec import CrawlSpec

KIND = "web"


class CrawlSummary(ImportSummary):
    """An import summary whose JSON also says why URLs were skipped."""

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["skipped_reasons"] = [
            {"path": o.path, "reason": o.reason} for o in self.outcomes if o.status == "skipped" and o.reason
        ]
        return data


async def crawl(settings: Settings, spec: CrawlSpec) -> CrawlReport:
    """Fetch and convert (nothing is stored)."""
    load_crawl4ai(settings.resolved_data_dir)
    guard = AddressGuard(settings.crawl.allow_networks)
    async with Fetcher(settings.crawl, guard) as fetcher:
        if not settings.crawl.browser:
            return await Crawler(settings.crawl, fetcher, spec).run()
        from ingest.web.browser import Browser

        hosts = [urlsplit(seed).hostname or "" for seed in spec.seeds]
        async with Browser(settings.crawl, guard, settings.resolved_data_dir, hosts) as browser:
            return await Crawler(settings.crawl, fetcher, spec, browser.render).run()


async def crawl_into(
    settings: Settings,
    ledger: Ledger,
    store: Callable[[], Store],
    extractor: GraphExtractor,
    spec: CrawlSpec,
    dataset: str,
    progress: Progress | None = None,
    gate: WriteGate | None = None,
) -> CrawlSummary:
    """Crawl ``spec`` into ``dataset``; the store is created only if a page is to be stored."""
    started = time.perf_counter()
    validate_dataset_name(dataset)
    ledger.register_dataset(dataset)
    progress = progress or NoProgress()
    report = await crawl(settings, spec)
    summary = CrawlSummary(dataset=dataset)
    summary.outcomes += [_failed(ledger, dataset, url, exc) for url, exc in report.failed]
    summary.outcomes += [Outcome(url, "skipped", reason) for url, reason in report.skipped]
    for outcome in summary.outcomes:
        progress.document_finished(outcome)
    if report.pages:
        progress.planned(len(report.pages), len(report.pages))
        importer = RecordImporter(settings, ledger, store(), extractor, gate)
        stored = await importer.import_records(dataset, _records(report.pages), replace_same_source=True)
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
    previous = ledger.get(dataset, doc_id)
    ledger.upsert(
        DocumentRecord(
            dataset=dataset,
            doc_id=doc_id,
            source=url,
            content_hash="",
            kind=KIND,
            state="failed",
            error=str(exc),
            permanent=int(exc.permanent),
            attempts=(previous.attempts if previous else 0) + 1,
            pipeline_version=PIPELINE_VERSION,
        )
    )
    return Outcome(url, "failed", str(exc))
