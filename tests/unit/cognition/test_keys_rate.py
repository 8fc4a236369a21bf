"""Per-key rate limits: a burst is admitted, the next request is told how long to wait,
time refills the bucket, keys do not share buckets. The same arithmetic in this process
and in a real Redis (shared by two limiters, as by two API processes). Clocks are injected:
no test depends on how fast it runs."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio

from bench.redis_server import RedisServer, free_port
from cognition.errors import ConfigurationError
from cognition.keys import Limiter, LimiterUnavailable, RateLimiter, RedisRateLimiter, open_rate_limiter
from cognition.settings import ApiSettings, Settings, get_settings


class Clock:
    def __init__(self, now: float = 500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_admitted_then_the_next_request_waits() -> None:
    limiter = RateLimiter(per_minute=60, burst=5, clock=Clock())

    admitted = [limiter.hit("k") for _ in range(5)]
    refused = limiter.hit("k")

    assert admitted == [None] * 5
    assert refused == pytest.approx(1.0)  # one request a second refills one place


def test_waiting_the_answer_admits_the_next_request() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=120, burst=2, clock=clock)
    limiter.hit("k"), limiter.hit("k")
    wait = limiter.hit("k")
    assert wait is not None and wait > 0

    clock.now += wait / 2
    assert limiter.hit("k") == pytest.approx(wait / 2)  # a refused request costs nothing
    clock.now += wait / 2

    assert limiter.hit("k") is None
    assert limiter.hit("k") is not None


def test_the_average_rate_holds_over_time() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=600, burst=60, clock=clock)
    admitted = 0
    for _ in range(6000):  # ten minutes, a request every 0.1 s (1 per 0.1 s is the allowed rate)
        admitted += limiter.hit("k") is None
        clock.now += 0.05  # twice the allowed rate
    # 300 s at 10 requests/s, plus the burst
    assert admitted == pytest.approx(3000 + 60, abs=2)


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())

    assert limiter.hit("a") is None
    assert limiter.hit("a") is not None
    assert limiter.hit("b") is None


def test_full_buckets_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter._PRUNE_AT = 10
    for n in range(10):
        limiter.hit(f"old-{n}")
    clock.now += 60
    limiter.hit("a"), limiter.hit("b")

    assert set(limiter._full_at) == {"a", "b"}


def test_threads_never_admit_more_than_the_burst() -> None:
    limiter = RateLimiter(per_minute=1, burst=50, clock=Clock())  # nothing refills in the test
    answers: list[float | None] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            answer = limiter.hit("k")
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers.count(None) == 50
    assert all(answer is None or answer > 0 for answer in answers)


async def test_the_async_port_answers_like_hit() -> None:
    limiter: Limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())

    assert await limiter.admit("k") is None
    assert await limiter.admit("k") == pytest.approx(1.0)
    await limiter.close()


def test_the_limiter_reads_its_settings() -> None:
    limiter = RateLimiter.from_settings(ApiSettings(rate_limit_per_minute=30, rate_limit_burst=3))

    assert (limiter.interval, limiter.burst) == (2.0, 3)
    assert isinstance(open_rate_limiter(Settings()), RateLimiter)


def test_a_limit_below_one_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_API__RATE_LIMIT_BURST", "0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="COGNITION_API__RATE_LIMIT_BURST"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_a_redis_url_of_another_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="COGNITION_QUEUE__REDIS_URL"):
        open_rate_limiter(Settings(), "http://user:pw@127.0.0.1:1/0")


# --------------------------------------------------------------------------- shared, in Redis


@pytest_asyncio.fixture(loop_scope="session")
async def shared(
    redis_server: RedisServer,
) -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter, Clock]]:
    """Two limiters on one Redis and one clock, as two API processes would be."""
    clock, namespace = Clock(), f"test:{uuid.uuid4().hex}"
    first, second = (
        RedisRateLimiter(redis.asyncio.Redis.from_url(redis_server.url), 60, 5, namespace, clock)
        for _ in range(2)
    )
    yield first, second, clock
    await first.close()
    await second.close()


async def test_redis_admits_a_burst_across_processes_then_refuses(
    shared: tuple[RedisRateLimiter, RedisRateLimiter, Clock],
) -> None:
    first, second, clock = shared

    answers = [await (first if n % 2 else second).admit("k") for n in range(5)]
    refused = [await first.admit("k"), await second.admit("k")]

    assert answers == [None] * 5
    assert refused == [pytest.approx(1.0), pytest.approx(1.0)]
    assert await first.admit("other") is None
    clock.now += 1.0
    assert await second.admit("k") is None


async def test_redis_answers_match_the_in_process_limiter(
    shared: tuple[RedisRateLimiter, RedisRateLimiter, Clock],
) -> None:
    first, _, clock = shared
    local = RateLimiter(per_minute=60, burst=5, clock=clock)
    steps = [0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.2, 0.9, 0.0, 0.0, 2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]

    for step in steps:
        clock.now += step
        expected = local.hit("k")
        got = await first.admit("k")
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got == pytest.approx(expected, abs=1e-6)


async def test_redis_uses_its_own_clock_by_default(redis_server: RedisServer) -> None:
    settings = Settings(
        queue={"name": f"test-{uuid.uuid4().hex}"}, api={"rate_limit_per_minute": 1, "rate_limit_burst": 2}
    )
    limiter = open_rate_limiter(settings, redis_server.url)
    try:
        answers = await asyncio.gather(*(limiter.admit("k") for _ in range(4)))
    finally:
        await limiter.close()

    assert answers.count(None) == 2
    assert all(0 < wait <= 60 for wait in answers if wait is not None)  # one place a minute


async def test_an_unreachable_redis_is_a_retryable_error_not_an_admission() -> None:
    limiter = open_rate_limiter(Settings(), f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(LimiterUnavailable, match="not reachable") as caught:
            await limiter.admit("k")
    finally:
        await limiter.close()

    assert caught.value.retryable
    assert "hunter2" not in str(caught.value)
