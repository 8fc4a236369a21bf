"""What the entry points call: one function per user action, over a process's ``Runtime``.

Imports and crawls as the CLI runs them in-process; queries, listings and deletes are in
``ingest.query`` and ``ingest.catalog``. Nothing here builds a store or loads a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cognition.ledger import Caps
from cognition.runtime import Runtime
from ingest.importer import Importer
from ingest.outcomes import CrawlSummary, ImportSummary, Progress
from ingest.targets import resolve_targets
from ingest.web.spec import CrawlSpec


async def run_import(
    runtime: Runtime,
    paths: Sequence[Path],
    dataset: str | None,
    password: str | None = None,
    progress: Progress | None = None,
    caps: Caps | None = None,
) -> ImportSummary:
    """``cognition import``: a manifest (one .toml path) or files and folders into ``dataset``,
    within ``caps`` (the run's own; the dataset's caps apply as well)."""
    targets = resolve_targets(paths, dataset)
    return await Importer(runtime, progress, caps=caps).import_targets(targets, password)


async def run_crawl(
    runtime: Runtime, spec: CrawlSpec | Sequence[str], dataset: str, progress: Progress | None = None
) -> CrawlSummary:
    """``cognition crawl``: a site (seeds, or a full spec) into ``dataset``."""
    from ingest.web.importer import crawl_into

    spec = spec if isinstance(spec, CrawlSpec) else CrawlSpec(seeds=tuple(spec))
    return await crawl_into(runtime, spec, dataset, progress)
