"""One worker process of ``bench/governor.py``: embeds its documents batch by batch on the
Gemini stub, through the rate governor (``governor``) or a naive tenacity retry loop
(``naive``), and prints what it saw as one JSON line.

    python -m bench.governor_worker ARM INDEX CONFIG_JSON   (started by bench.governor)

The governed worker is configured by the environment as a real worker is (``COGNITION_*``:
the stub's URL and quota, the shared Redis); a batch the governor gives up on (``QuotaPaced``
after a long storm, ``ProviderUnavailable``) is tried again after the job layer's jittered
exponential backoff, as a queued job would be (the result cache keeps the batches already
paid, so only the failed batch is retried). The naive worker is what is commonly written:
the same client with its own retries off, each call wrapped in tenacity's
``wait_random_exponential(multiplier=1, max=60)`` on 429 and 5xx, ignoring ``retryDelay``.
Both are scaled to the stub's minute (``window / 60``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from google.genai import errors as genai_errors
from google.genai import types

from cognition.settings import Settings

CallBatch = Callable[[list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Config:
    """The bench's workload and stub, shared by the parent and its workers."""

    window: float = 3.0  # the stub's "minute", seconds
    per_window: int = 30  # the stub's requests a window (600 a real minute)
    documents: int = 48
    chunks: int = 20  # per document
    batch: int = 4  # chunks per batchEmbedContents call
    workers: int = 3  # processes
    tasks: int = 2  # documents at once per process (import.concurrency)
    storm_after: float = 15.0  # seconds after the first served call
    storm_seconds: float = 6.0  # every call refused with a per-minute 429 meanwhile
    storm_delay: float = 0.75  # the storm's retryDelay (17 s of a real minute is about this)
    queries: int = 7  # query embeddings timed while bulk saturates, before the storm
    latency: float = 0.2  # seconds the stub takes per request (a batch of 4 on the real API: 0.2-0.4)

    @property
    def scale(self) -> float:
        """The stub's minute over a real one: backoffs written for minutes shrink by this."""
        return self.window / 60.0


def document_texts(doc: int, chunks: int) -> list[str]:
    return [f"document {doc} chunk {c}: " + "words of a passage " * 20 for c in range(chunks)]


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, genai_errors.APIError) and (exc.code == 429 or exc.code >= 500)


def naive_caller(
    config: Config, purpose: str = "document", settings: Settings | None = None
) -> tuple[CallBatch, Callable[[], Awaitable[None]]]:
    """The baseline: the client's retries off, tenacity's exponential backoff around each call."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_random_exponential

    from cognition.embedding.gemini import make_client
    from cognition.settings import get_settings

    client = make_client((settings or get_settings()).gemini)
    task = "RETRIEVAL_QUERY" if purpose == "query" else "RETRIEVAL_DOCUMENT"
    embed_config = types.EmbedContentConfig(task_type=task, output_dimensionality=16)

    async def call(texts: list[str]) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            wait=wait_random_exponential(multiplier=config.scale, max=60 * config.scale),
            stop=stop_after_delay(20 * config.window),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                contents = [types.Content(parts=[types.Part(text=text)]) for text in texts]
                await client.aio.models.embed_content(
                    model="gemini-embedding-001", contents=contents, config=embed_config
                )

    return call, client.aio.aclose


def governed_caller(stats: Counter[str]) -> tuple[CallBatch, Callable[[], Awaitable[None]], Any]:
    """The governor's worker: the real embedder from settings, the job layer's retry around it."""
    from cognition.embedding.gemini import GeminiEmbedder
    from cognition.governor import ProviderError
    from cognition.paths import DataPaths
    from cognition.runtime import make_embedder
    from cognition.settings import get_settings
    from ingest.jobs import backoff

    settings = get_settings()
    embedder = make_embedder(settings, DataPaths.of(settings))
    assert isinstance(embedder, GeminiEmbedder)

    async def call(texts: list[str]) -> None:
        for attempt in range(1, 1000):
            try:
                await embedder.embed(texts)
                return
            except ProviderError as exc:
                if not getattr(exc, "retryable", False):
                    raise
                stats[f"job_retry_{type(exc).__name__}"] += 1
                await asyncio.sleep(backoff(attempt, settings.queue))

    return call, embedder.aclose, embedder.governor


async def run_worker(arm: str, index: int, config: Config) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    governor = None
    if arm == "naive":
        call, close = naive_caller(config)
    else:
        call, close, governor = governed_caller(stats)
    mine = [d for d in range(config.documents) if d % config.workers == index]
    pending: asyncio.Queue[int] = asyncio.Queue()
    for doc in mine:
        pending.put_nowait(doc)
    finished: list[float] = []
    print("READY", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # every worker starts at once

    async def one_task() -> None:
        while not pending.empty():
            doc = pending.get_nowait()
            texts = document_texts(doc, config.chunks)
            try:
                for start in range(0, len(texts), config.batch):
                    await call(texts[start : start + config.batch])
            except Exception as exc:  # a document the loop gave up on
                stats[f"failed_{type(exc).__name__}"] += 1
                continue
            finished.append(time.time())

    try:
        await asyncio.gather(*(one_task() for _ in range(config.tasks)))
    finally:
        await close()
    if governor is not None:
        stats.update({f"governor_{k}": v for k, v in governor.stats.items()})
    return {"documents": len(finished), "finished": finished, "stats": dict(stats)}


def main() -> None:
    arm, index, raw = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    result = asyncio.run(run_worker(arm, index, Config(**json.loads(raw))))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
