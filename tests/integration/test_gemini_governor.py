"""The rate governor against the Gemini stub through the real client, shared in a real
Redis: callers that each have their own client, governor and Redis connection (as worker
processes would) share one quota. The stub's "minute" is 2 s, so a run takes seconds; the
assertions count requests served and refused, never wall-clock speed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.gemini_stub import GeminiStub, StubQuota
from bench.redis_server import RedisServer
from cognition.embedding.gemini import GeminiEmbedder
from cognition.governor import QuotaParked, QuotaTerminal, quota_day
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import Settings
from tests.integration.gemini_harness import gemini_settings

WINDOW = 2.0


def callers(settings: Settings, count: int, stub: GeminiStub) -> list[GeminiEmbedder]:
    """``count`` embedders sharing nothing but Redis; their clock is the stub's."""
    made = [make_embedder(settings, DataPaths.of(settings)) for _ in range(count)]
    for embedder in made:
        assert isinstance(embedder, GeminiEmbedder)
        embedder.governor._clock = stub.now  # the governor's day and windows on the stub's clock
    return [e for e in made if isinstance(e, GeminiEmbedder)]


async def run(embedders: list[GeminiEmbedder], calls: int, text: str = "a short text") -> None:
    """Each embedder makes ``calls`` calls of one batch, all at once."""

    async def worker(n: int, embedder: GeminiEmbedder) -> None:
        for call in range(calls):
            await embedder.embed([f"{text} {n}.{call}.{i}" for i in range(embedder.max_batch)])

    try:
        await asyncio.gather(*(worker(n, e) for n, e in enumerate(embedders)))
    finally:
        for embedder in embedders:
            await embedder.aclose()


def quota_use(stub: GeminiStub, per_window: int) -> float:
    """The rate achieved after the first window's burst, over the quota's rate: calls served
    beyond the first window's, per second between the first and last, against per_window / W."""
    span = stub.arrivals[-1] - stub.arrivals[0]
    return (stub.stats["served"] - per_window) / span / (per_window / WINDOW)


async def test_three_callers_share_the_request_quota(redis_server: RedisServer, tmp_path: Path) -> None:
    with GeminiStub(StubQuota(requests_per_window=12, window_seconds=WINDOW)) as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path)
        await run(callers(settings, 3, stub), calls=16)
        served, refused, use = stub.stats["served"], stub.stats["refused_429"], quota_use(stub, 12)

    print(f"requests: served {served}, refused {refused}, quota use {use:.1%}")
    assert served == 48
    assert refused / (served + refused) <= 0.01
    assert use >= 0.9


async def test_three_callers_share_the_token_quota(redis_server: RedisServer, tmp_path: Path) -> None:
    text = "x" * 394  # with " n.c.i", 400 characters: 100 tokens a text, 400 a call, 6 calls a window
    with GeminiStub(
        StubQuota(requests_per_window=1000, tokens_per_window=2400, window_seconds=WINDOW)
    ) as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path)
        await run(callers(settings, 3, stub), calls=6, text=text)
        served, refused, use = stub.stats["served"], stub.stats["refused_429"], quota_use(stub, 6)

    print(f"tokens: served {served}, refused {refused}, quota use {use:.1%}")
    assert served == 18 and refused == 0
    assert use >= 0.9


async def test_a_per_minute_429_makes_every_caller_wait_the_servers_delay(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub() as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path)
        embedders = callers(settings, 3, stub)
        stub.script("minute", retry_delay=1.5)
        await run(embedders, calls=4)
        refused_at = stub.arrivals[0]
        during = [t for t in stub.arrivals[1:] if t < refused_at + 1.5]

    assert stub.stats["fault_minute"] == 1 and stub.stats["served"] == 12  # every call done
    assert len(during) <= 2  # only the two other callers' calls already in flight
    assert sum(e.governor.stats["throttled"] for e in embedders) == 1


async def test_a_per_day_429_parks_until_pacific_midnight_then_resumes(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub(StubQuota(requests_per_day=3)) as stub:
        # The governor believes in a larger day: the server's 429 is what tells it.
        settings = gemini_settings(stub, redis_server.url, quota={"requests_per_day": 100}, data_dir=tmp_path)
        (embedder,) = callers(settings, 1, stub)
        try:
            for n in range(3):
                await embedder.embed([f"text {n}"])
            with pytest.raises(QuotaParked, match="daily quota") as parked:
                await embedder.embed(["one too many"])
            assert parked.value.until == quota_day(stub.now()).ends
            assert len(stub.arrivals) == 4  # the refused call was not retried
            stub.advance(parked.value.until - stub.now() + 1)  # the stub's day ends
            assert (await embedder.embed(["a new day"])).shape == (1, 16)
        finally:
            await embedder.aclose()


async def test_the_governors_own_day_count_parks_before_calling(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub(StubQuota(requests_per_day=3)) as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path)
        (embedder,) = callers(settings, 1, stub)
        try:
            for n in range(3):
                await embedder.embed([f"text {n}"])
            with pytest.raises(QuotaParked) as parked:
                await embedder.embed(["one too many"])
        finally:
            await embedder.aclose()
    assert parked.value.until == quota_day(stub.now()).ends
    assert len(stub.arrivals) == 3 and stub.stats["refused_429"] == 0


async def test_a_zero_quota_is_terminal_after_one_call(redis_server: RedisServer, tmp_path: Path) -> None:
    with GeminiStub() as stub:
        (embedder,) = callers(gemini_settings(stub, redis_server.url, data_dir=tmp_path), 1, stub)
        stub.script("zero")
        try:
            with pytest.raises(QuotaTerminal, match="quota is zero or billing is off"):
                await embedder.embed(["one"])
        finally:
            await embedder.aclose()
    assert len(stub.arrivals) == 1
