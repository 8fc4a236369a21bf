"""The API under load over loopback, beside the same queries made in-process.

    python -m bench.api [--books DIR] [--data-dir DIR] [--queries 200] [--clients 1,8,32] [--json]

Imports the shared books into dataset ``books`` (unless ``--data-dir`` holds them), starts
``uvicorn api.main:app`` in a child process on 127.0.0.1 (rate limits lifted), and drives
``POST /v1/search`` with 1, 8 and 32 concurrent clients (each mode, ``--queries`` queries
per run, split among the clients). The baseline is the same queries through the same core
function the route calls (``ingest.query.search``) on a ``Runtime`` in this process, one
at a time, measured in the same run while the server sits idle (2 cores: never both at
once). Reports p50/p95/p99 latency (ms) and requests per second; the HTTP overhead is the
ratio of the 1-client p50 to the in-process p50. Queries are the first words of chunks
drawn at random (seed 7), as in ``bench.query``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.api_server import served_api
from bench.ingest import DEFAULT_BOOKS, run_cli_import
from bench.query import DATASET, MODES, _queries
from bench.redis_server import free_port
from cognition.keys import open_keys, parse_grant
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.query import search

WARMUP = 5


def _percentiles(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "requests_per_s": round(len(ordered) / seconds, 1),
    }


async def _drive(call: Callable[[str], Awaitable[None]], queries: list[str], clients: int) -> dict[str, Any]:
    """``clients`` workers share the queries; each sends its next one when the last returns."""
    for query in queries[:WARMUP]:
        await call(query)
    pending = list(queries)
    latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        while pending:
            query = pending.pop()
            started = time.perf_counter()
            try:
                await call(query)
            except Exception:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    report = _percentiles(latencies, time.perf_counter() - started) if latencies else {}
    return {**report, "errors": errors}


async def in_process(data_dir: Path, queries_by_mode: dict[str, list[str]]) -> dict[str, Any]:
    runtime = Runtime.build(Settings(data_dir=data_dir))
    try:
        report = {}
        for mode, queries in queries_by_mode.items():

            async def call(query: str, mode: str = mode) -> None:
                await search(runtime, query, [DATASET], mode, 5)

            report[mode] = await _drive(call, queries, 1)
        return report
    finally:
        await runtime.close()


async def over_http(
    url: str, key: str, queries_by_mode: dict[str, list[str]], clients: list[int]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=max(clients), max_keepalive_connections=max(clients))
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        async def health(query: str) -> None:
            (await client.get("/healthz")).raise_for_status()

        report["healthz"] = await _drive(health, next(iter(queries_by_mode.values())), 1)
        for mode, queries in queries_by_mode.items():
            report[mode] = {}
            for count in clients:

                async def call(query: str, mode: str = mode) -> None:
                    answer = await client.post(
                        "/v1/search", json={"query": query, "datasets": [DATASET], "mode": mode}
                    )
                    answer.raise_for_status()

                report[mode][str(count)] = await _drive(call, queries, count)
    return report


async def _sample(data_dir: Path, count: int) -> dict[str, list[str]]:
    runtime = Runtime.build(Settings(data_dir=data_dir))
    try:
        queries = await _queries(runtime.store, count)
    finally:
        await runtime.close()
    return {mode: queries for mode in MODES}


def measure(data_dir: Path, count: int, clients: list[int]) -> dict[str, Any]:
    queries = asyncio.run(_sample(data_dir, count))
    _, key = open_keys(Settings(data_dir=data_dir)).create("bench", [parse_grant("read:*")])
    port = free_port()
    env = {
        **os.environ,
        "COGNITION_DATA_DIR": str(data_dir),
        "COGNITION_API__RATE_LIMIT_BURST": "1000000",
        "COGNITION_API__RATE_LIMIT_PER_MINUTE": "1000000",
        "COGNITION_AUDIT__EVERY_SECONDS": "0",  # no audit job beside the measured queries
    }
    with served_api(data_dir, port, env):
        http = asyncio.run(over_http(f"http://127.0.0.1:{port}", key, queries, clients))
    local = asyncio.run(in_process(data_dir, queries))
    # The HTTP stack's own cost (client, uvicorn, FastAPI): a route that does nothing.
    report: dict[str, Any] = {"queries": count, "clients": clients, "healthz_1_client": http["healthz"]}
    for mode in MODES:
        one = http[mode][str(clients[0])]
        report[mode] = {
            "in_process": local[mode],
            "http": http[mode],
            "http_overhead": round(one["p50_ms"] / local[mode]["p50_ms"] - 1, 3),
            "throughput_vs_one_client": {
                c: round(http[mode][str(c)]["requests_per_s"] / one["requests_per_s"], 2)
                for c in map(str, clients)
            },
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="reuse a data dir holding dataset 'books'"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="cognition-bench-api-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        if not (data_dir / "ledger.sqlite3").exists():  # a new data dir: import the books first
            run_cli_import(sorted(args.books.glob("*.pdf")), data_dir)
        report = measure(data_dir, args.queries, clients)
    if args.json:
        print(json.dumps(report))
        return
    floor = report["healthz_1_client"]
    print(f"healthz (the HTTP stack alone) p50 {floor['p50_ms']} p95 {floor['p95_ms']} ms")
    for mode in MODES:
        row = report[mode]
        local = row["in_process"]
        print(
            f"{mode:7s} in-process p50 {local['p50_ms']} p95 {local['p95_ms']} p99 {local['p99_ms']} ms "
            f"{local['requests_per_s']}/s; HTTP overhead {row['http_overhead']:+.1%}"
        )
        for count, found in row["http"].items():
            print(
                f"        {count:>2} clients p50 {found['p50_ms']} p95 {found['p95_ms']} "
                f"p99 {found['p99_ms']} ms {found['requests_per_s']}/s errors {found['errors']}"
            )


if __name__ == "__main__":
    main()
