"""The query lane against the Gemini stub through the real client and a shared Redis: while
bulk callers (each with its own client, governor and Redis connection, as worker processes
would have) hold the stub's quota at their share, a query embedding is admitted at once.
The assertions name the mechanism (which waits happened, what the stub served), never a
latency: ``bench/governor.py`` measures that."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.gemini_stub import GeminiStub, StubQuota
from bench.redis_server import RedisServer
from cognition.embedding.gemini import GeminiEmbedder
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import Settings
from tests.integration.gemini_harness import gemini_settings

WINDOW = 4.0
PER_WINDOW = 10  # the stub's requests a window; with a share of 0.2, bulk may send 8


def embedders(settings: Settings, count: int, stub: GeminiStub) -> list[GeminiEmbedder]:
    made = [make_embedder(settings, DataPaths.of(settings)) for _ in range(count)]
    assert all(isinstance(e, GeminiEmbedder) for e in made)
    ready = [e for e in made if isinstance(e, GeminiEmbedder)]
    for embedder in ready:
        embedder.governor._clock = stub.now  # the governor's windows on the stub's clock
    return ready


async def saturate(embedder: GeminiEmbedder, calls: int, n: int) -> None:
    for call in range(calls):
        await embedder.embed([f"document {n}.{call}.{i}" for i in range(embedder.max_batch)])


async def test_a_query_is_admitted_while_bulk_callers_are_held_at_their_share(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub(StubQuota(requests_per_window=PER_WINDOW, window_seconds=WINDOW)) as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path, query_share=0.2)
        *bulk, asker = embedders(settings, 4, stub)
        tasks = [asyncio.create_task(saturate(e, 6, n)) for n, e in enumerate(bulk)]
        try:
            for _ in range(500):  # until bulk's share has reached the stub and a bulk caller
                # is held back by the window (bounded; a call admitted may still be on its way
                # to the stub when the next caller is held)
                arrived = sum(1 for t in stub.arrivals if t > stub.now() - WINDOW)
                if arrived >= 8 and any(e.governor.stats["wait_requests"] for e in bulk):
                    break
                await asyncio.sleep(0.02)
            sent = stub.now()
            in_window = sum(1 for t in stub.arrivals if t > sent - WINDOW)
            started = time.monotonic()
            vectors = await asker.embed(["what does git commit record?"], purpose="query")
            latency = time.monotonic() - started
            bulk_done = sum(task.done() for task in tasks)
            await asyncio.gather(*tasks)
        finally:
            for embedder in (*bulk, asker):
                await embedder.aclose()
        served, refused = stub.stats["served"], stub.stats["refused_429"]

    print(f"query lane: answered in {latency * 1000:.0f} ms with {in_window} bulk calls in the window")
    assert vectors.shape == (1, 16) and stub.task_types["RETRIEVAL_QUERY"] == 1
    assert in_window == 8  # bulk had filled its share of the window when the query was sent
    assert bulk_done == 0  # and was still being held back when the query had its answer
    assert asker.governor.stats["query_calls"] == 1
    assert not [k for k in asker.governor.stats if k.startswith("wait_")]  # the query never waited
    assert served == 3 * 6 + 1 and refused == 0
