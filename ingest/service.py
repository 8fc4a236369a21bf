"""The composition root: builds importers and searchers from settings.

Entry points (the CLI, later the API and the workers) call these functions and nothing
deeper. Heavy parts (cognee, the embedding model) are created only when needed, so a no-op
re-import never pays for them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cognition.gate import WriteGate
from cognition.search import Hit, Searcher
from cognition.settings import Settings
from cognition.store.port import Store
from ingest.extract.local import LocalExtractor
from ingest.extract.query import QueryKeys
from ingest.importer import Importer, ImportSummary, Progress
from ingest.ledger import Ledger
from ingest.manifest import load_manifest
from ingest.web.spec import CrawlSpec

if TYPE_CHECKING:
    from ingest.web.importer import CrawlSummary


def ledger_for(settings: Settings) -> Ledger:
    return Ledger(settings.resolved_data_dir / "ledger.sqlite3")


def make_store(settings: Settings) -> Store:
    from cognition.store.cognee_store import CogneeStore

    return CogneeStore(settings)


def make_extractor(settings: Settings) -> LocalExtractor:
    extraction = settings.extraction
    return LocalExtractor(extraction.max_entities_per_chunk, extraction.min_entity_chars)


def make_importer(
    settings: Settings,
    progress: Progress | None = None,
    store: Store | None = None,
    gate: WriteGate | None = None,
) -> Importer:
    return Importer(
        settings,
        ledger_for(settings),
        (lambda: store) if store is not None else (lambda: make_store(settings)),
        make_extractor(settings),
        progress,
        gate=gate,
    )


def make_searcher(settings: Settings, store: Store) -> Searcher:
    from cognition.embedding.engine import shared_embedder

    ledger = ledger_for(settings)
    embedder = shared_embedder(settings)
    return Searcher(settings.search, store, embedder.embed_async, QueryKeys(), ledger.dataset_version)


async def run_import(
    settings: Settings,
    paths: Sequence[Path],
    dataset: str | None,
    password: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """``cognition import``: a manifest (one .toml path) or files and folders into ``dataset``."""
    importer = make_importer(settings, progress)
    try:
        if len(paths) == 1 and paths[0].suffix == ".toml":
            manifest = load_manifest(paths[0])
            if dataset and dataset != manifest.name:
                manifest = manifest.model_copy(update={"name": dataset})
            return await importer.import_manifest(manifest, password)
        if not dataset:
            from cognition.errors import DatasetError

            raise DatasetError("name the target dataset with --dataset (or import a manifest .toml)")
        return await importer.import_paths(list(paths), dataset, password)
    finally:
        await importer.close()


async def run_crawl(
    settings: Settings,
    spec: CrawlSpec | Sequence[str],
    dataset: str,
    progress: Progress | None = None,
    store: Store | None = None,
) -> CrawlSummary:
    """``cognition crawl``: a site (seeds, or a full spec) into ``dataset``."""
    from ingest.web.importer import crawl_into

    spec = spec if isinstance(spec, CrawlSpec) else CrawlSpec(seeds=tuple(spec))
    made: list[Store] = []

    def open_store() -> Store:
        if store is not None:
            return store
        made.append(make_store(settings))
        return made[0]

    try:
        return await crawl_into(
            settings, ledger_for(settings), open_store, make_extractor(settings), spec, dataset, progress
        )
    finally:
        for opened in made:
            await opened.close()


async def run_search(
    settings: Settings, query: str, datasets: Sequence[str], mode: str, top_k: int
) -> list[Hit]:
    """``cognition search``."""
    store = make_store(settings)
    try:
        return await make_searcher(settings, store).search(query, datasets, mode, top_k)
    finally:
        await store.close()


def dataset_overview(settings: Settings) -> dict[str, dict[str, int]]:
    """Per dataset, how many documents are in each state."""
    ledger = ledger_for(settings)
    return {name: dict(Counter(r.state for r in ledger.documents(name))) for name in ledger.datasets()}
