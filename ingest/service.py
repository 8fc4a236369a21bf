"""What the entry points call: one function per user action, over a process's ``Runtime``.

The CLI, the workers and (next) the API build one runtime and call these; nothing here
builds a store or loads a model of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cognition.ledger import IN_FLIGHT, owner_alive
from cognition.runtime import Runtime
from cognition.search import Hit
from ingest.importer import Importer
from ingest.outcomes import CrawlSummary, ImportSummary, Progress
from ingest.targets import resolve_targets
from ingest.web.spec import CrawlSpec

if TYPE_CHECKING:
    from cognition.ledger import DocumentRecord, Ledger


async def run_import(
    runtime: Runtime,
    paths: Sequence[Path],
    dataset: str | None,
    password: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """``cognition import``: a manifest (one .toml path) or files and folders into ``dataset``."""
    targets = resolve_targets(paths, dataset)
    return await Importer(runtime, progress).import_targets(targets, password)


async def run_crawl(
    runtime: Runtime, spec: CrawlSpec | Sequence[str], dataset: str, progress: Progress | None = None
) -> CrawlSummary:
    """``cognition crawl``: a site (seeds, or a full spec) into ``dataset``."""
    from ingest.web.importer import crawl_into

    spec = spec if isinstance(spec, CrawlSpec) else CrawlSpec(seeds=tuple(spec))
    return await crawl_into(runtime, spec, dataset, progress)


async def run_search(
    runtime: Runtime, query: str, datasets: Sequence[str], mode: str, top_k: int
) -> list[Hit]:
    """``cognition search``."""
    return await runtime.searcher.search(query, datasets, mode, top_k)


def dataset_overview(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Per dataset, how many documents are in each state. A document in a working state whose
    process has ended (killed) counts as ``interrupted``: the next import redoes it."""

    def state(record: DocumentRecord) -> str:
        if record.state in IN_FLIGHT and record.owner and not owner_alive(record):
            return "interrupted"
        return record.state

    return {name: dict(Counter(state(r) for r in ledger.documents(name))) for name in ledger.datasets()}
