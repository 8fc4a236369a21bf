"""Crawl benchmark: the shared MkDocs site served on 127.0.0.1, crawled without storing
(fetch + HTML-to-markdown only, the crawler's own limit) and end to end into a fresh data
directory (fetch, convert, chunk, extract, embed, store), then re-crawled (a no-op).

    python -m bench.crawl [--json]

Seeds are ``/`` and ``/404.html`` (whose navigation points at 8 pages that do not exist),
with no politeness delay and no page limit, so every reachable page is crawled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sites import SITE, serve_site
from cognition.runtime import Runtime
from cognition.settings import CrawlSettings, Settings
from ingest.service import run_crawl
from ingest.web.importer import crawl
from ingest.web.spec import CrawlSpec


def _settings(data_dir: Path) -> Settings:
    limits = CrawlSettings(allow_networks=["127.0.0.1/32"], delay_seconds=0, max_depth=20, max_pages=1000)
    return Settings(data_dir=data_dir, crawl=limits)


async def measure(data_dir: Path) -> dict[str, Any]:
    settings = _settings(data_dir)
    runtime = Runtime.build(settings)
    with serve_site() as site:
        spec = CrawlSpec((site.url("/"), site.url("/404.html")))
        report = await crawl(settings, spec)
        pages = len(report.pages)
        started = time.perf_counter()
        summary = await run_crawl(runtime, spec, "web-docs")
        end_to_end = time.perf_counter() - started
        started = time.perf_counter()
        again = await run_crawl(runtime, spec, "web-docs")
        recrawl = time.perf_counter() - started
    await runtime.close()
    return {
        "site": SITE.name,
        "pages": pages,
        "dead_links": len(report.failed),
        "skipped": len(report.skipped),
        "fetch_convert_seconds": round(report.seconds, 3),
        "fetch_convert_pages_per_s": round(pages / report.seconds, 2),
        "end_to_end_seconds": round(end_to_end, 3),
        "end_to_end_pages_per_s": round(summary.count("added") / end_to_end, 2),
        "end_to_end_vs_fetch_convert": round(report.seconds / end_to_end, 3),
        "chunks": sum(o.chunks for o in summary.outcomes),
        "added": summary.count("added"),
        "recrawl_seconds": round(recrawl, 3),
        "recrawl_skipped": again.count("skipped"),
        "recrawl_added": again.count("added") + again.count("replaced"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as folder:
        result = asyncio.run(measure(Path(folder)))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:30} {value}")


if __name__ == "__main__":
    main()
