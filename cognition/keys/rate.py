"""Per-key request rate limits: a token bucket per key, kept as one number.

Each key may make ``burst`` requests at once and ``per_minute`` requests a minute on
average. The bucket is stored the GCRA way (the generic cell rate algorithm): one
"theoretical arrival time" per key, the moment its bucket would be full again. A request
moves it ``60 / per_minute`` seconds on; a request that would move it more than ``burst``
intervals past now is refused, and the answer is how long until it would not be.

``RateLimiter`` keeps the buckets in this process (the default: one API process).
``RedisRateLimiter`` keeps them in Redis, so several API processes share each key's limit;
it runs the same arithmetic in one Lua script, atomically, on Redis's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from cognition.errors import CognitionError
from cognition.settings import ApiSettings


class LimiterUnavailable(CognitionError):
    """The shared limit's Redis did not answer: the request can be tried again shortly."""

    retryable = True


class Limiter(Protocol):
    """What a request handler asks: may this key make a request now?"""

    async def admit(self, key_id: str) -> float | None:
        """None when the request is admitted, else the seconds until one will be (``Retry-After``)."""
        ...

    async def close(self) -> None: ...


class RateLimiter:
    """Buckets in this process; thread-safe (a lock around a few arithmetic operations,
    never held across an ``await``). ``clock`` is for tests."""

    _PRUNE_AT = 10_000  # keys remembered before full buckets are forgotten

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a rate limit needs per_minute >= 1 and burst >= 1")
        self.interval = 60.0 / per_minute
        self.burst = burst
        self._clock = clock
        self._full_at: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, api: ApiSettings, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        return cls(api.rate_limit_per_minute, api.rate_limit_burst, clock)

    def hit(self, key_id: str) -> float | None:
        """Count a request of ``key_id``: None if admitted, else the seconds to wait."""
        with self._lock:
            now = self._clock()
            full_at = max(self._full_at.get(key_id, now), now) + self.interval
            wait = full_at - now - self.burst * self.interval
            if wait > 0:
                return wait
            self._full_at[key_id] = full_at
            if len(self._full_at) > self._PRUNE_AT:
                self._prune(now)
            return None

    async def admit(self, key_id: str) -> float | None:
        return self.hit(key_id)

    async def close(self) -> None:
        return None

    def _prune(self, now: float) -> None:
        """Forget keys whose bucket is full again: for them, absent and stored are the same."""
        for key_id in [k for k, full_at in self._full_at.items() if full_at <= now]:
            del self._full_at[key_id]


# KEYS[1]: the key's bucket; ARGV: interval, burst, now (or "" for Redis's own clock).
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local full_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if full_at < now then full_at = now end
full_at = full_at + interval
local wait = full_at - now - burst * interval
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(full_at), 'PX', math.ceil((full_at - now) * 1000) + 1)
return false
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every API process using the same Redis and ``namespace``.

    ``clock`` (tests) sends the time with each request; by default the script reads Redis's
    clock, so processes on hosts whose clocks differ still agree. The limiter owns the
    client it is given (``close`` closes it). A Redis that does not answer is a
    ``LimiterUnavailable`` (retryable), never an admitted request."""

    def __init__(
        self,
        redis: Any,
        per_minute: int,
        burst: int,
        namespace: str = "cognition:rate",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a rate limit needs per_minute >= 1 and burst >= 1")
        self.interval = 60.0 / per_minute
        self.burst = burst
        self.namespace = namespace
        self._redis = redis  # a redis.asyncio.Redis
        self._script = redis.register_script(_GCRA)
        self._clock = clock

    async def admit(self, key_id: str) -> float | None:
        now = "" if self._clock is None else repr(self._clock())
        try:
            wait = await self._script(
                keys=[f"{self.namespace}:{key_id}"], args=[self.interval, self.burst, now]
            )
        except RedisError as exc:  # its messages name host and port, never the password
            raise LimiterUnavailable(f"the rate limit's Redis is not reachable: {exc}") from None
        return None if wait is None else float(wait)

    async def close(self) -> None:
        await self._redis.aclose()
