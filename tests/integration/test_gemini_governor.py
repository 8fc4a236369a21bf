"""The rate governor against the Gemini stub through the real client, shared in a real
Redis: callers that each have their own client, governor and Redis connection (as worker
processes would) share one quota. The stub's "minute" is 2 s, so a run takes seconds; the
assertions count requests served and refused, never wall-clock speed."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
import redis
from google.genai import types

from bench.gemini_stub import GeminiStub, StubQuota
from bench.redis_server import RedisServer, free_port
from cognition.embedding.gemini import GeminiEmbedder, make_client
from cognition.governor import ProviderUnavailable, QuotaParked, QuotaTerminal, fingerprint, quota_day
from cognition.governor.factory import open_governor
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import Settings
from tests.integration.gemini_harness import embedding_env, gemini_settings

WINDOW = 2.0
ROOT = Path(__file__).resolve().parents[2]


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


def quota_use(stub: GeminiStub, per_window: int, window: float = WINDOW) -> float:
    """The rate achieved, over the quota's (per_window / window): the calls after the first
    window's, over the time from the first window's last call to the run's last call — the
    same point of their windows, so the spread of a burst does not count (the tests serve
    whole windows)."""
    served = stub.stats["served"]
    span = stub.arrivals[served - 1] - stub.arrivals[per_window - 1]
    return (served - per_window) / span / (per_window / window)


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
            with pytest.raises(QuotaParked):  # parked: the next call is not even made
                await embedder.embed(["and another"])
            assert len(stub.arrivals) == 4
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


_WORKER = """
import asyncio, json, sys
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import get_settings

async def main():
    settings = get_settings()
    embedder = make_embedder(settings, DataPaths.of(settings))
    print("READY", flush=True)
    sys.stdin.readline()  # every process starts calling at once: the quota, not startup, limits
    for n in range({calls}):
        await embedder.embed([f"process {{n}} text {{i}}" for i in range(embedder.max_batch)])
    stats = dict(embedder.governor.stats)
    await embedder.aclose()
    print("STATS " + json.dumps(stats))

asyncio.run(main())
"""


PROCESS_WINDOW = (
    4.0  # three processes on two cores answer slower: a longer "minute" keeps the loss per window small
)


async def test_three_worker_processes_share_one_quota(redis_server: RedisServer, tmp_path: Path) -> None:
    """The quota is configured by environment, as a worker's would be; each process has its
    own client and governor, and nothing but Redis in common. A call counts from its end, so
    each window loses the time from the server's answer to the caller's release: about 0.2 s
    with three processes on two cores (0.3 % of a real 60 s minute)."""
    with GeminiStub(StubQuota(requests_per_window=12, window_seconds=PROCESS_WINDOW)) as stub:
        env = {
            **os.environ,
            "COGNITION_DATA_DIR": str(tmp_path),
            **embedding_env(stub),
            "COGNITION_GEMINI__CACHE": "false",  # the processes embed the same texts: the quota is under test
            "COGNITION_GEMINI__EMBEDDING_QUOTA__REQUESTS_PER_MINUTE": "12",
            "COGNITION_GEMINI__EMBEDDING_QUOTA__WINDOW_SECONDS": str(PROCESS_WINDOW),
            "COGNITION_QUEUE__REDIS_URL": redis_server.url,
            "COGNITION_QUEUE__NAME": f"test-{uuid.uuid4().hex}",
        }
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _WORKER.format(calls=16),
                env=env,
                cwd=ROOT,
                stdin=PIPE,
                stdout=PIPE,
                stderr=PIPE,
            )
            for _ in range(3)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdin is not None
            assert await asyncio.wait_for(worker.stdout.readline(), 120) == b"READY\n"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
        outputs = [await worker.communicate() for worker in workers]
        served, refused, use = (
            stub.stats["served"],
            stub.stats["refused_429"],
            quota_use(stub, 12, PROCESS_WINDOW),
        )

    assert [worker.returncode for worker in workers] == [0, 0, 0], [
        err.decode()[-2000:] for _, err in outputs
    ]
    stats = [json.loads(out.decode().split("STATS ")[-1]) for out, _ in outputs]
    print(f"processes: served {served}, refused {refused}, quota use {use:.1%}, governors {stats}")
    assert served == 48 and sum(s.get("ok", 0) for s in stats) == 48
    assert refused / (served + refused) <= 0.01
    assert use >= 0.9


async def test_calls_in_flight_never_exceed_the_concurrency_cap(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub(latency=0.2) as stub:
        settings = gemini_settings(stub, redis_server.url, quota={"max_concurrency": 2}, data_dir=tmp_path)
        await run(callers(settings, 3, stub), calls=3)
    assert stub.stats["served"] == 9 and stub.max_in_flight == 2


async def test_a_timeout_is_a_provider_failure_seen_once(redis_server: RedisServer, tmp_path: Path) -> None:
    with GeminiStub() as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path, timeout_seconds=0.3)
        (embedder,) = callers(settings, 1, stub)
        stub.script("slow", seconds=1.0)
        try:
            with pytest.raises(ProviderUnavailable):
                await embedder.embed(["slow"])
        finally:
            await embedder.aclose()
    assert len(stub.arrivals) == 1


async def test_without_its_redis_no_call_is_made(tmp_path: Path) -> None:
    with GeminiStub() as stub:
        settings = gemini_settings(stub, f"redis://127.0.0.1:{free_port()}/0", data_dir=tmp_path)
        (embedder,) = callers(settings, 1, stub)
        try:
            with pytest.raises(ProviderUnavailable, match="rate governor's Redis is not reachable"):
                await embedder.embed(["one"])
        finally:
            await embedder.aclose()
    assert stub.arrivals == []


async def test_a_quota_set_above_the_real_one_is_paced_by_the_servers_delays(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The operator typed a quota the key does not have: the server's 429s pace the callers
    (each waits the delay it names, concurrency halves) and every call still completes."""
    with GeminiStub(StubQuota(requests_per_window=6, window_seconds=WINDOW)) as stub:
        settings = gemini_settings(
            stub, redis_server.url, quota={"requests_per_minute": 100}, data_dir=tmp_path
        )
        embedders = callers(settings, 3, stub)
        limit_before = await embedders[0].governor.concurrency()
        governors = [e.governor for e in embedders]
        await run(embedders, calls=6)
        served, refused = stub.stats["served"], stub.stats["refused_429"]
    print(f"misconfigured quota: served {served}, refused {refused}, {[dict(g.stats) for g in governors]}")
    assert served == 18
    assert refused <= 3 * (18 // 6)  # at most one per caller per window: the first 429 pauses them all
    assert limit_before == 4


async def test_a_reservation_is_reconciled_with_the_usage_generate_content_reports(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A prompt reserves its estimate; the answer's ``usageMetadata`` replaces it, so the next
    call is admitted at once instead of waiting for the window."""
    with GeminiStub(StubQuota(tokens_per_window=1200, window_seconds=WINDOW)) as stub:
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path)
        governor = open_governor(settings, "gemini-2.5-flash", settings.gemini.embedding_quota, "stub-key")
        client = make_client(settings.gemini)

        async def generate() -> types.GenerateContentResponse:
            return await client.aio.models.generate_content(
                model="gemini-2.5-flash", contents="a short prompt"
            )

        def prompt_tokens(response: types.GenerateContentResponse) -> int | None:
            return None if response.usage_metadata is None else response.usage_metadata.prompt_token_count

        try:
            first = await governor.call(generate, tokens=1000, usage=prompt_tokens)
            await governor.call(generate, tokens=1000, usage=prompt_tokens)
        finally:
            await client.aio.aclose()
            await governor.close()
        keys = redis.Redis.from_url(redis_server.url).keys(f"{settings.queue.name}:*")

    assert first.text == stub.answer and stub.stats["served"] == 2
    assert "wait_tokens" not in governor.stats  # 1000 reserved, 4 used: room for the next 1000
    assert keys and all(b"stub-key" not in key and fingerprint("stub-key").encode() in key for key in keys)
