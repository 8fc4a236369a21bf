"""One worker process of ``bench/governor.py``: embeds its documents batch by batch on the
Gemini stub, through the rate governor (``governor``) or a naive tenacity retry loop
(``naive``), and prints what it saw as one JSON line.

    python -m bench.governor_worker ARM INDEX CONFIG_JSON   (started by bench.governor)

The governed worker is configured by the environment as a real worker is (``COGNITION_*``:
the stub's URL and quota, the shared Redis); a batch the governor gives up on (``QuotaPaced``
after a long storm, ``ProviderUnavailable``) is tried again after the job layer's jittered
exponential backoff, as a queued job would be (the result cache keeps the batches already
paid, so only the failed batch is retried). The naive worker is what is commonly written:
the same embedder and client (its retries off) with no governor, each call wrapped in tenacity's
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
from typing import Any, TypeVar

from cognition.embedding.gemini import GeminiEmbedder
from cognition.embedding.port import Purpose
from cognition.governor import Governor, MemoryBackend, Quota
from cognition.governor.port import Lane
from cognition.settings import Settings, get_settings

CallBatch = Callable[[list[str]], Awaitable[None]]
T = TypeVar("T")


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
    """A 429 or 5xx of the SDK (``google.genai.errors.APIError`` has the status as ``code``)."""
    code = getattr(exc, "code", None)
    return isinstance(code, int) and (code == 429 or code >= 500)


class Unpaced(Governor):
    """No governor at all: the call is made at once and its error raised as the SDK raised it,
    so the baseline sends exactly the embedder's requests (same client, same batches)."""

    def __init__(self) -> None:
        super().__init__(MemoryBackend(), Quota(1, 1, 1, 1), "naive", "none")

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        tokens: int,
        usage: Callable[[T], int | None] | None = None,
        lane: Lane = "bulk",
    ) -> T:
        return await fn()


def naive_caller(
    config: Config, purpose: Purpose = "document", settings: Settings | None = None
) -> tuple[CallBatch, Callable[[], Awaitable[None]]]:
    """The baseline: the client (retries off) inside tenacity's exponential backoff, on 429
    and 5xx alike, ``retryDelay`` unread: what is commonly written."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_random_exponential

    embedder = GeminiEmbedder((settings or get_settings()).gemini, Unpaced())

    async def call(texts: list[str]) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            wait=wait_random_exponential(multiplier=config.scale, max=60 * config.scale),
            stop=stop_after_delay(20 * config.window),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await embedder.embed(texts, purpose)

    return call, embedder.aclose


def governed_caller(stats: Counter[str]) -> tuple[CallBatch, Callable[[], Awaitable[None]], Any]:
    """The governor's worker: the real embedder from settings, the job layer's retry around it."""
    from cognition.governor import ProviderError
    from cognition.paths import DataPaths
    from cognition.runtime import make_embedder
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
                until = getattr(exc, "until", None)  # parked (an open circuit, a used-up day)
                wait = (
                    until - embedder.governor.now() if until is not None else backoff(attempt, settings.queue)
                )
                await asyncio.sleep(max(wait, 0.0))

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
