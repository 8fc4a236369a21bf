"""The query lane: a share of each quota that bulk calls cannot take, on both backends
(in-process and Redis) with a clock the tests move."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio
from google.genai import errors as genai_errors
from pydantic import ValidationError

from bench.redis_server import RedisServer
from cognition.governor import (
    Backend,
    Governor,
    MemoryBackend,
    Quota,
    QuotaPaced,
    QuotaParked,
    QuotaTerminal,
    quota_day,
)
from cognition.governor.factory import quota_of
from cognition.governor.redis_store import RedisBackend
from cognition.settings import Settings
from tests.unit.cognition.test_governor import Clock, answer, body_429

# 10 requests and 1,000 tokens a minute, 4 in flight; 20 % kept for queries.
LANE = Quota(10, 1000, requests_per_day=1000, max_concurrency=4, query_share=0.2)


@pytest_asyncio.fixture(loop_scope="session", params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each scenario runs on both backends: they must give the same answers."""
    if request.param == "memory":
        yield MemoryBackend()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    shared = RedisBackend(redis.asyncio.Redis.from_url(server.url), namespace=f"test:{uuid.uuid4().hex}")
    yield shared
    await shared.close()


def governor(clock: Clock, backend: Backend, quota: Quota = LANE) -> Governor:
    return Governor(backend, quota, "m", "f", clock=clock, sleep=clock.sleep)


async def test_bulk_fills_only_its_share_of_the_window_and_a_query_goes_through(backend: Backend) -> None:
    clock = Clock()
    bulk, query = governor(clock, backend), governor(clock, backend)  # two workers, one key
    for _ in range(8):
        await bulk.call(answer, tokens=1)
    assert clock.slept == []

    for _ in range(2):  # the two requests bulk cannot take are the queries'
        await query.call(answer, tokens=1, lane="query")
    assert clock.slept == [] and query.stats["query_calls"] == 2

    await bulk.call(answer, tokens=1)  # the ninth bulk call waits for the window
    assert bulk.stats["wait_requests"] == 1 and sum(clock.slept) == pytest.approx(60.0)


async def test_a_query_waits_for_the_window_only_once_the_whole_quota_is_used(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend)
    for _ in range(10):
        await gov.call(answer, tokens=1, lane="query")
    await gov.call(answer, tokens=1, lane="query")
    assert gov.stats["query_wait_requests"] == 1 and sum(clock.slept) == pytest.approx(60.0)


async def test_bulk_waits_until_enough_of_the_window_has_left(backend: Backend) -> None:
    """A window holding bulk's share and the queries' has to lose three calls before bulk
    has room again: the wait names the third oldest's end, not the oldest's."""
    clock = Clock()
    gov = governor(clock, backend)
    for _ in range(8):
        await gov.call(answer, tokens=1)
        clock.now += 1
    for _ in range(2):
        await gov.call(answer, tokens=1, lane="query")
    await gov.call(answer, tokens=1)
    assert gov.stats["wait_requests"] == 1
    assert clock.slept == [pytest.approx(60.0 - 8 + 2)]  # the third call ended at +2, now is +8


async def test_bulk_tokens_stop_at_their_share_and_a_query_may_use_the_rest(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend)
    await gov.call(answer, tokens=800)
    await gov.call(answer, tokens=200, lane="query")
    assert clock.slept == []
    with pytest.raises(QuotaTerminal, match="exceeds the 800 a minute bulk calls may use"):
        await gov.call(answer, tokens=801)


async def test_bulk_leaves_a_slot_in_flight_for_queries(backend: Backend) -> None:
    clock = Clock()
    day = quota_day(clock.now)
    granted = [(await backend.acquire("m:f", f"b{n}", 1, LANE, clock.now, day)).granted for n in range(4)]
    assert granted == [True, True, True, False]  # 4 slots less 20 %: 3 for bulk
    assert (await backend.acquire("m:f", "q", 1, LANE, clock.now, day, "query")).granted
    assert (await backend.acquire("m:f", "q2", 1, LANE, clock.now, day, "query")).reason == "concurrency"


async def test_bulk_parks_at_its_share_of_the_day_while_queries_go_on(backend: Backend) -> None:
    clock = Clock()
    gov = governor(
        clock, backend, Quota(1000, 10_000, requests_per_day=10, max_concurrency=4, query_share=0.2)
    )
    for _ in range(8):
        await gov.call(answer, tokens=1)
    with pytest.raises(QuotaParked, match="the rest is kept for queries") as parked:
        await gov.call(answer, tokens=1)
    assert parked.value.until == quota_day(clock.now).ends
    await gov.call(answer, tokens=1, lane="query")
    await gov.call(answer, tokens=1, lane="query")
    with pytest.raises(QuotaParked):
        await gov.call(answer, tokens=1, lane="query")


async def test_a_per_minute_429_holds_back_queries_too(backend: Backend) -> None:
    """The server refuses a query as it refused the import: every lane waits its delay."""
    clock = Clock()
    bulk, query = governor(clock, backend), governor(clock, backend)

    async def refused() -> str:
        raise genai_errors.ClientError(
            429, body_429("GenerateRequestsPerMinutePerProjectPerModel", delay="5s")
        )

    bulk.max_pacing = 0
    with pytest.raises(QuotaPaced, match="still refused"):
        await bulk.call(refused, tokens=1)
    await query.call(answer, tokens=1, lane="query")
    assert query.stats["query_wait_blocked"] == 1 and clock.slept == [pytest.approx(5.0)]


async def test_without_a_share_both_lanes_are_one(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend, Quota(3, 1000, 100, 4))
    for _ in range(3):
        await gov.call(answer, tokens=1)
    await gov.call(answer, tokens=1, lane="query")
    assert gov.stats["query_wait_requests"] == 1


def test_the_share_is_the_embedding_models_and_validated() -> None:
    settings = Settings(gemini={"query_share": 0.25})
    assert quota_of(settings.gemini.embedding_quota, settings.gemini.query_share).query_share == 0.25
    assert Settings().gemini.query_share == 0.1
    for bad in (1.0, -0.1):
        with pytest.raises(ValidationError, match="query_share"):
            Settings(gemini={"query_share": bad})
