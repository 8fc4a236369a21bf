"""Warm query latency in one long-lived process: the runtime's searcher beside the old
per-call path, on the same store, in the same run.

    python -m bench.query [--books DIR] [--data-dir DIR] [--queries 200] [--json]

Imports the shared books (unless ``--data-dir`` already holds them in dataset ``books``),
then runs the same queries, in every mode, through

- ``runtime``: the searcher of one long-lived ``Runtime``: datasets resolved once, chunk
  vectors and provenance read from LanceDB directly, the graph cached per dataset version;
- ``per_call``: the path before the runtime (the code as it was, kept here as the baseline):
  every read enters cognee's database context for the dataset (its user and dataset
  lookups), vectors through cognee's vector engine, chunk texts from the graph. The graph
  used for ranking is cached the same way in both, so the difference is the per-call cost.

The query embedding is in both. Reports p50, p95 and the mean per mode and path (ms), and
the ratio of the medians. Queries are the first words of chunks drawn at random (seed 7).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bench.ingest import DEFAULT_BOOKS, run_cli_import
from cognition.extract.query import QueryKeys
from cognition.runtime import Runtime
from cognition.search import Hit, Searcher
from cognition.settings import Settings
from cognition.store.port import ScoredChunk, Store, StoredChunk

DATASET = "books"
MODES = ("vector", "graph", "hybrid")


class PerCallStore:
    """The reads as they were before the runtime: each one enters cognee's database context
    for the dataset; vectors come from cognee's vector engine, chunk texts from the graph."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def dataset_exists(self, name: str) -> bool:
        async with self._store._context(name):
            return True

    async def search_chunks(self, dataset: str, vector: Sequence[float], k: int) -> list[ScoredChunk]:
        from cognition.store.cognee.schema import CHUNK_COLLECTION

        async with self._store._context(dataset) as (_, vectors):
            results = await vectors.search(CHUNK_COLLECTION, query_vector=list(vector), limit=k)
        scores = {str(r.id): 1.0 - float(r.score) for r in results}
        chunks = await self.get_chunks(dataset, list(scores))
        return sorted((ScoredChunk(c, scores[c.id]) for c in chunks), key=lambda s: -s.score)

    async def get_chunks(self, dataset: str, ids: Sequence[str]) -> list[StoredChunk]:
        from cognition.store.cognee import reads

        async with self._store._context(dataset) as (graph, _):
            return await reads.chunks_by_id(graph, dataset, ids)


async def _queries(store: Store, count: int) -> list[str]:
    graph = await store.graph(DATASET)
    rng = random.Random(7)
    ids = rng.sample(graph.chunk_ids, min(count, len(graph.chunk_ids)))
    chunks = await store.get_chunks(DATASET, ids)
    return [" ".join(c.text.split()[:8]) for c in chunks]


async def _timed(search: Callable[[str], Awaitable[list[Hit]]], queries: list[str]) -> list[float]:
    for query in queries[:5]:  # warm up: model, engines, graph
        await search(query)
    latencies = []
    for query in queries:
        started = time.perf_counter()
        await search(query)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


async def measure(data_dir: Path, count: int) -> dict[str, Any]:
    runtime = Runtime.build(Settings(data_dir=data_dir))
    try:
        queries = await _queries(runtime.store, count)
        fast = runtime.searcher
        slow = Searcher(
            runtime.settings.search,
            PerCallStore(runtime.store),  # type: ignore[arg-type]
            lambda texts: runtime.embedder.embed(texts, "query"),
            QueryKeys(),
            runtime.ledger.dataset_version,
        )
        report: dict[str, Any] = {"queries": len(queries)}
        for mode in MODES:
            runtime_ms = await _timed(lambda q, m=mode: fast.search(q, [DATASET], m, 5), queries)  # type: ignore[misc]
            per_call_ms = await _timed(lambda q, m=mode: slow.search(q, [DATASET], m, 5), queries)  # type: ignore[misc]
            report[mode] = {
                "runtime": _summary(runtime_ms),
                "per_call": _summary(per_call_ms),
                "p50_ratio": round(statistics.median(per_call_ms) / statistics.median(runtime_ms), 2),
            }
        return report
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="reuse a data dir holding dataset 'books'"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cognition-bench-query-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        if args.data_dir is None:
            run_cli_import(sorted(args.books.glob("*.pdf")), data_dir)
        report = asyncio.run(measure(data_dir, args.queries))
    if args.json:
        print(json.dumps(report))
        return
    for mode in MODES:
        row = report[mode]
        print(
            f"{mode:7s} runtime p50 {row['runtime']['p50_ms']:7.1f} ms p95 {row['runtime']['p95_ms']:7.1f} ms"
            f" | per call p50 {row['per_call']['p50_ms']:7.1f} ms p95 {row['per_call']['p95_ms']:7.1f} ms"
            f" | x{row['p50_ratio']}"
        )


if __name__ == "__main__":
    main()
