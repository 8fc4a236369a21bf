"""The circuit breaker's two stores give the same answers to the same calls: in this
process, and in a real Redis (two Lua scripts). Times are passed in, so nothing waits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio

from bench.redis_server import RedisServer
from cognition.governor.breaker import BreakerPolicy, BreakerStore, MemoryBreakerStore, process_store
from cognition.governor.breaker_redis import RedisBreakerStore

POLICY = BreakerPolicy(failures=3, window_seconds=10, open_seconds=20, max_open_seconds=50, probe_seconds=7)
KEY = "gemini-embedding-001:abc"


@pytest_asyncio.fixture(params=["memory", "redis"], loop_scope="session")
async def store(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[BreakerStore]:
    if request.param == "memory":
        yield MemoryBreakerStore()
        return
    made = RedisBreakerStore(redis.asyncio.Redis.from_url(redis_server.url), namespace=uuid.uuid4().hex)
    yield made
    await made.close()


async def fail(store: BreakerStore, now: float, times: int = 1) -> None:
    for _ in range(times):
        ticket = uuid.uuid4().hex
        assert (await store.enter(KEY, ticket, now, POLICY)).allowed
        await store.record(KEY, ticket, "failure", now, POLICY)


async def test_failures_within_the_window_open_it(store: BreakerStore) -> None:
    await fail(store, 100.0, 2)
    assert (await store.state(KEY, 100.0)).state == "closed"
    await fail(store, 105.0)
    state = await store.state(KEY, 105.0)
    verdict = await store.enter(KEY, "late", 110.0, POLICY)
    assert state.state == "open" and state.until == 125.0
    assert not verdict.allowed and verdict.state == "open" and verdict.until == 125.0


async def test_old_failures_and_a_success_do_not_count(store: BreakerStore) -> None:
    await fail(store, 100.0, 2)
    await fail(store, 111.0)  # the first two are out of the window
    assert (await store.state(KEY, 111.0)).failures == 1
    await store.record(KEY, "ok", "success", 112.0, POLICY)
    await fail(store, 113.0, 2)
    assert (await store.state(KEY, 113.0)).state == "closed"


async def test_failures_each_within_the_window_of_the_last_open_it_however_long_they_span(
    store: BreakerStore,
) -> None:
    """A storm's refusals come a server's delay apart: three of them 8 s apart span 16 s,
    more than the 10 s window, and still open it."""
    await fail(store, 100.0)
    await fail(store, 108.0)
    assert (await store.state(KEY, 108.0)).failures == 2
    await fail(store, 116.0)
    assert (await store.state(KEY, 116.0)).state == "open"


async def test_one_call_failing_twice_counts_twice(store: BreakerStore) -> None:
    ticket = uuid.uuid4().hex
    for now in (100.0, 101.0, 102.0):  # one call refused again after each of its pauses
        await store.record(KEY, ticket, "failure", now, POLICY)
    assert (await store.state(KEY, 102.0)).state == "open"


async def test_paced_and_neutral_answers_do_not_count_while_closed(store: BreakerStore) -> None:
    for outcome in ("paced", "neutral") * 3:
        await store.record(KEY, uuid.uuid4().hex, outcome, 100.0, POLICY)  # type: ignore[arg-type]
    assert (await store.state(KEY, 100.0)).state == "closed"


async def test_half_open_admits_one_probe_whose_success_closes_it(store: BreakerStore) -> None:
    await fail(store, 100.0, 3)
    probe = await store.enter(KEY, "probe", 120.0, POLICY)
    other = await store.enter(KEY, "other", 121.0, POLICY)
    again = await store.enter(KEY, "probe", 121.0, POLICY)  # the probe's own next attempt
    await store.record(KEY, "probe", "success", 122.0, POLICY)
    assert probe.allowed and probe.state == "half_open"
    assert not other.allowed and other.state == "half_open" and other.until == 126.0  # a short wait
    assert again.allowed
    assert (await store.state(KEY, 122.0)).state == "closed"
    assert (await store.enter(KEY, "other", 122.0, POLICY)).allowed


async def test_a_failed_or_paced_probe_reopens_for_twice_as_long_up_to_the_cap(store: BreakerStore) -> None:
    await fail(store, 100.0, 3)  # open until 120
    await store.enter(KEY, "p1", 120.0, POLICY)
    await store.record(KEY, "p1", "failure", 120.0, POLICY)  # 40 s
    first = await store.state(KEY, 120.0)
    await store.enter(KEY, "p2", 160.0, POLICY)
    await store.record(KEY, "p2", "paced", 160.0, POLICY)  # 80 s, capped at 50
    second = await store.state(KEY, 160.0)
    assert (first.until, first.reopens) == (160.0, 1)
    assert (second.until, second.reopens) == (210.0, 2)


async def test_a_probe_that_ends_neutral_or_dies_lets_another_probe(store: BreakerStore) -> None:
    await fail(store, 100.0, 3)
    await store.enter(KEY, "p1", 120.0, POLICY)
    await store.record(KEY, "p1", "neutral", 121.0, POLICY)
    assert (await store.enter(KEY, "p2", 121.0, POLICY)).allowed  # p1 gave its place back
    assert not (await store.enter(KEY, "p3", 127.9, POLICY)).allowed
    assert (await store.enter(KEY, "p3", 128.0, POLICY)).allowed  # p2's lease of 7 s ended


async def test_a_late_failure_of_a_call_admitted_before_it_opened_changes_nothing(
    store: BreakerStore,
) -> None:
    await fail(store, 100.0, 3)
    await store.record(KEY, "late", "failure", 101.0, POLICY)
    await store.record(KEY, "late", "success", 102.0, POLICY)  # not the probe: it stays open
    state = await store.state(KEY, 102.0)
    assert state.state == "open" and state.until == 120.0


def test_the_in_process_store_is_one_per_data_directory() -> None:
    assert process_store("/data/a") is process_store("/data/a")
    assert process_store("/data/a") is not process_store("/data/b")
