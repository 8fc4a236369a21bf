"""The governor's arithmetic and its reading of 429s, on the in-process backend and a
clock the tests move (the integration tests run it against the Gemini stub and Redis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio
from google.genai import errors as genai_errors

from bench.redis_server import RedisServer
from cognition.governor import (
    Backend,
    Governor,
    MemoryBackend,
    ProviderUnavailable,
    Quota,
    QuotaPaced,
    QuotaParked,
    QuotaTerminal,
    fingerprint,
    quota_day,
)
from cognition.governor.port import PACIFIC
from cognition.governor.redis_store import RedisBackend
from cognition.governor.refusal import read_refusal

QUOTA = Quota(requests_per_minute=3, tokens_per_minute=100, requests_per_day=10, max_concurrency=4)


def body_429(quota_id: str, value: str = "60", delay: str | None = "17s") -> dict[str, Any]:
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaMetric": "m", "quotaId": quota_id, "quotaValue": value}],
        }
    ]
    if delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    return {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota", "details": details}}


class Clock:
    """Time that moves only when a caller sleeps."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


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


def governor(clock: Clock, backend: Backend, quota: Quota = QUOTA) -> Governor:
    return Governor(backend, quota, "m", fingerprint("k"), clock=clock, sleep=clock.sleep)


async def answer() -> str:
    return "ok"


def test_a_per_minute_429_is_paced_with_the_servers_delay() -> None:
    refusal = read_refusal(429, body_429("GenerateRequestsPerMinutePerProjectPerModel", delay="17.5s"))
    assert refusal is not None and (refusal.kind, refusal.retry_delay) == ("minute", 17.5)


def test_a_per_day_429_parks_and_a_zero_quota_is_terminal() -> None:
    day = read_refusal(429, body_429("GenerateRequestsPerDayPerProjectPerModel", delay=None))
    zero = read_refusal(429, body_429("GenerateRequestsPerDayPerProjectPerModel-FreeTier", value="0"))
    assert day is not None and (day.kind, day.retry_delay) == ("day", None)
    assert zero is not None and zero.kind == "terminal"
    assert read_refusal(503, {"error": {"code": 503}}) is None


def test_the_quota_day_ends_at_pacific_midnight() -> None:
    summer = quota_day(datetime(2026, 7, 1, 23, 59, tzinfo=PACIFIC).timestamp())
    winter = quota_day(datetime(2026, 12, 1, 0, 0, tzinfo=PACIFIC).timestamp())
    assert summer.name == "2026-07-01"
    assert datetime.fromtimestamp(summer.ends, PACIFIC).isoformat() == "2026-07-02T00:00:00-07:00"
    assert datetime.fromtimestamp(winter.ends, PACIFIC).isoformat() == "2026-12-02T00:00:00-08:00"


def test_the_fingerprint_hides_the_key() -> None:
    assert "secret-key" not in fingerprint("secret-key") and len(fingerprint("secret-key")) == 16


async def test_requests_beyond_the_minute_wait_for_the_window(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend)
    for _ in range(4):
        assert await gov.call(answer, tokens=10) == "ok"
    assert gov.stats["wait_requests"] == 1 and sum(clock.slept) == pytest.approx(60.0)


async def test_tokens_are_reserved_then_reconciled_with_the_reported_usage(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend)
    await gov.call(answer, tokens=90, usage=lambda _: 10)  # reserved 90, used 10
    await gov.call(answer, tokens=80)  # fits only because the reservation was reconciled
    assert clock.slept == []
    await gov.call(answer, tokens=20)  # 10 + 80 + 20 > 100: waits for the window
    assert gov.stats["wait_tokens"] == 1


async def test_a_call_larger_than_the_whole_quota_is_terminal(backend: Backend) -> None:
    with pytest.raises(QuotaTerminal, match="lower the batch size"):
        await governor(Clock(), backend).call(answer, tokens=101)


async def test_the_day_counted_by_the_governor_parks_until_pacific_midnight(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend, Quota(1000, 10_000, requests_per_day=2, max_concurrency=4))
    await gov.call(answer, 1)
    await gov.call(answer, 1)
    with pytest.raises(QuotaParked) as parked:
        await gov.call(answer, 1)
    assert parked.value.until == quota_day(clock.now).ends


async def test_a_per_minute_429_blocks_retries_and_halves_concurrency(backend: Backend) -> None:
    clock = Clock()
    gov = governor(clock, backend)
    calls = 0

    async def once_refused() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise genai_errors.ClientError(
                429, body_429("GenerateRequestsPerMinutePerProjectPerModel", delay="17s")
            )
        return "ok"

    assert await gov.call(once_refused, 1) == "ok"
    assert calls == 2 and clock.slept == [pytest.approx(17.0)]
    assert await gov.concurrency() == pytest.approx(2.0 + 1 / 2)  # halved from 4, then one success


async def test_per_minute_429s_without_end_give_up_after_max_pacing(backend: Backend) -> None:
    clock = Clock()
    gov = Governor(backend, QUOTA, "m", "f", max_pacing=2, clock=clock, sleep=clock.sleep)

    async def refused() -> str:
        raise genai_errors.ClientError(
            429, body_429("GenerateRequestsPerMinutePerProjectPerModel", delay="1s")
        )

    with pytest.raises(QuotaPaced):
        await gov.call(refused, 1)
    assert gov.stats["throttled"] == 3


async def test_a_server_error_is_not_retried(backend: Backend) -> None:
    gov = governor(Clock(), backend)
    calls = 0

    async def unavailable() -> str:
        nonlocal calls
        calls += 1
        raise genai_errors.ServerError(
            503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "busy"}}
        )

    with pytest.raises(ProviderUnavailable, match="503"):
        await gov.call(unavailable, 1)
    assert calls == 1


async def test_a_zero_quota_is_terminal_with_a_clear_message(backend: Backend) -> None:
    async def zero() -> str:
        raise genai_errors.ClientError(
            429, body_429("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "0", None)
        )

    with pytest.raises(QuotaTerminal, match="quota is zero or billing is off"):
        await governor(Clock(), backend).call(zero, 1)


async def test_a_dead_callers_slot_frees_when_its_lease_ends(backend: Backend) -> None:
    quota = Quota(100, 10_000, 1000, max_concurrency=1, lease_seconds=30.0)
    clock = Clock()
    day = quota_day(clock.now)
    assert (await backend.acquire("m:f", "dead", 1, quota, clock.now, day)).granted  # never released
    assert (await backend.acquire("m:f", "next", 1, quota, clock.now + 29, day)).reason == "concurrency"
    assert (await backend.acquire("m:f", "next", 1, quota, clock.now + 30, day)).granted


async def test_a_per_day_429_parks_every_caller_without_another_call(backend: Backend) -> None:
    clock = Clock()
    first, second = governor(clock, backend), governor(clock, backend)  # two workers, one key
    calls = 0

    async def day_refused() -> str:
        nonlocal calls
        calls += 1
        raise genai_errors.ClientError(429, body_429("GenerateRequestsPerDayPerProjectPerModel", delay=None))

    with pytest.raises(QuotaParked) as parked:
        await first.call(day_refused, 1)
    with pytest.raises(QuotaParked) as also:
        await second.call(answer, 1)
    assert calls == 1 and parked.value.until == also.value.until == quota_day(clock.now).ends
    clock.now = parked.value.until + 1  # the next Pacific day
    assert await second.call(answer, 1) == "ok"
