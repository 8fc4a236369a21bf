"""The rate governor: every provider call of a model and credential goes through ``call``.

Before a call, one atomic admit checks the shared "blocked until", the requests and input
tokens of the sliding minute, the requests of the quota day and the calls in flight, and
reserves the call's token estimate; after it, the reservation is replaced by the usage the
provider reported. A 429 is read, not guessed at:

- per minute: every caller of that model and key waits the server's ``retryDelay`` (one
  shared "blocked until"), the concurrency limit halves, and the call is tried again — at
  most ``max_pacing`` times, then ``QuotaPaced``;
- per day: ``QuotaParked(until=next midnight, Pacific time)``, for the job layer to park;
- zero quota, billing, a refused key: ``QuotaTerminal``.

Nothing else is retried here: a 5xx, a network failure or a malformed answer is a
``ProviderUnavailable`` for the job layer to decide on. The SDK's own retries must be off
(``attempts=1``), so this is the only place that retries.

Before each attempt the circuit breaker (``breaker.py``, set by ``factory.open_governor``)
is asked, and told what the answer was: while its circuit is open, ``CircuitOpen`` is raised
and no call is made (nor any quota taken, unless it opened while the call waited for its
turn: that request stays counted).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.genai import errors as genai_errors

from cognition.governor.breaker import Breaker, Guard
from cognition.governor.errors import (
    CircuitOpen,
    ProviderError,
    ProviderUnavailable,
    QuotaPaced,
    QuotaParked,
    QuotaTerminal,
)
from cognition.governor.port import Backend, Lane, Outcome, Quota, quota_day
from cognition.governor.refusal import read_refusal

T = TypeVar("T")
log = logging.getLogger(__name__)
_REFUSED_CREDENTIAL = (401, 403)
_DAY_USED: dict[Lane, str] = {
    "bulk": "counted here or refused; for bulk work, the rest is kept for queries",
    "query": "counted here or refused",
}


class Governor:
    """Paces the calls of one model and credential (``credential`` is a fingerprint, never
    the key). ``clock`` gives epoch seconds (tests pass the stub's); ``sleep`` waits."""

    def __init__(
        self,
        backend: Backend,
        quota: Quota,
        model: str,
        credential: str,
        *,
        max_pacing: int = 5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backend = backend
        self.quota = quota
        self.model = model
        self.key = f"{model}:{credential}"
        self.max_pacing = max_pacing
        self.stats: Counter[str] = Counter()
        self.breaker: Breaker | None = None  # set by ``factory.open_governor``
        self._clock = clock
        self._sleep = sleep

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        tokens: int,
        usage: Callable[[T], int | None] | None = None,
        lane: Lane = "bulk",
    ) -> T:
        """``fn()`` once admitted for ``tokens`` input tokens in ``lane`` (``query``: an
        agent's question, which may use the share of the quota bulk work cannot take);
        ``usage`` reads the tokens the answer reports (None: the estimate stands)."""
        # breaker: no provider call while the circuit is open; each answer is recorded
        guard = self.breaker.guard(fn) if self.breaker is not None else None
        for _ in range(self.max_pacing + 1):
            ticket = await self._admit_guarded(guard, tokens, lane)
            try:
                result = await (guard.call() if guard is not None else fn())
            except CircuitOpen:  # breaker: it opened while this call waited for its turn
                await self._release(ticket, 0, "failed")
                self.stats["circuit_open"] += 1
                raise
            except Exception as exc:
                await self._refused(ticket, exc)  # raises, or returns after a per-minute 429
                continue
            except BaseException:  # cancelled: free the slot, keep the reservation
                await self._release(ticket, None, "failed")
                raise
            await self._release(ticket, usage(result) if usage is not None else None, "ok")
            self.stats["ok"] += 1
            return result
        if guard is not None:  # breaker: a call paced to no avail counts as a failure
            await guard.gave_up()
        raise QuotaPaced(
            f"{self.model}: still refused per minute after {self.max_pacing} pauses of the server's delay"
        )

    async def _admit_guarded(self, guard: Guard[T] | None, tokens: int, lane: Lane) -> str:
        """The breaker's leave (``CircuitOpen`` if not), then the quota's admission; a
        probe that is not admitted (the day is used up, cancelled) lets another probe."""
        if guard is None:
            return await self._admit(tokens, lane)
        try:
            await guard.enter()
        except CircuitOpen:
            self.stats["circuit_open"] += 1
            raise
        try:
            return await self._admit(tokens, lane)
        except BaseException:
            await guard.abandon()
            raise

    def now(self) -> float:
        """The governor's clock (the breaker's too)."""
        return self._clock()

    async def concurrency(self) -> float:
        return await self.backend.concurrency(self.key, self.quota)

    async def close(self) -> None:
        await self.backend.close()
        if self.breaker is not None:
            await self.breaker.store.close()

    async def _admit(self, tokens: int, lane: Lane) -> str:
        """A ticket once the backend admits the call; counts every wait by reason (and, for
        the query lane, also as ``query_wait_<reason>``, so a query held back shows)."""
        ticket = uuid.uuid4().hex
        prefix = "query_" if lane == "query" else ""
        while True:
            now = self._clock()
            day = quota_day(now)
            decision = await self.backend.acquire(self.key, ticket, tokens, self.quota, now, day, lane)
            if decision.granted:
                self.stats["calls"] += 1
                if prefix:
                    self.stats["query_calls"] += 1
                return ticket
            if decision.reason == "day":
                self.stats["parked"] += 1
                raise QuotaParked(self.model, day.ends, _DAY_USED[lane])
            if decision.reason == "too_large":
                raise QuotaTerminal(
                    f"{self.model}: one call of {tokens} input tokens exceeds the "
                    f"{self.quota.for_lane(lane).tokens_per_minute} a minute {lane} calls may use:"
                    " lower the batch size"
                )
            self.stats[f"wait_{decision.reason}"] += 1
            if prefix:
                self.stats[f"{prefix}wait_{decision.reason}"] += 1
            await self._sleep(max(decision.wait, 0.001))

    async def _release(
        self, ticket: str, used: int | None, outcome: Outcome, blocked_until: float = 0.0
    ) -> None:
        """End a call in the backend. If its Redis is gone, a paid answer is still returned:
        the slot frees when its lease ends, the reservation when the window moves on."""
        try:
            await self.backend.release(
                self.key, ticket, used, outcome, self.quota, self._clock(), blocked_until
            )
        except ProviderUnavailable as exc:
            log.warning("%s: a call's end was not recorded (%s); its lease will expire", self.model, exc)

    async def _refused(self, ticket: str, exc: Exception) -> None:
        """Release the failed call's slot; return to pace and retry, or raise what it means."""
        if not isinstance(exc, genai_errors.APIError):
            await self._release(ticket, None, "failed")
            self.stats["unavailable"] += 1
            raise ProviderUnavailable(f"{self.model}: {type(exc).__name__}: {exc}") from exc
        refusal = read_refusal(exc.code, exc.details)
        if refusal is None:
            await self._release(ticket, None, "failed")
            raise _status_error(self.model, exc) from exc
        now = self._clock()
        if refusal.kind == "minute":
            delay = refusal.retry_delay if refusal.retry_delay is not None else self.quota.window_seconds
            self.stats["throttled"] += 1
            log.warning(
                "%s: 429 per minute (%s): every caller waits %.3g s", self.model, refusal.quota_ids, delay
            )
            await self._release(ticket, 0, "throttled", now + delay)
            return
        if refusal.kind == "day":  # every caller parks now, without a call of its own to learn it
            ends = quota_day(now).ends
            await self._release(ticket, 0, "parked", ends)
            self.stats["parked"] += 1
            raise QuotaParked(self.model, ends, f"the server refused: {', '.join(refusal.quota_ids)}")
        await self._release(ticket, 0, "failed")
        self.stats["terminal"] += 1
        named = ", ".join(refusal.quota_ids) or "no quota named"
        raise QuotaTerminal(
            f"{self.model}: the quota is zero or billing is off ({named}):"
            f" no retry can succeed; enable billing or raise the quota. The server said: {refusal.message}"
        )


def _status_error(model: str, exc: genai_errors.APIError) -> ProviderError:
    """What a non-429 error status means for the caller."""
    text = f"{model}: {exc.code} {exc.status}: {exc.message}"
    if exc.code >= 500:
        return ProviderUnavailable(text)
    if (
        exc.code in _REFUSED_CREDENTIAL
        or "API key" in str(exc.message)
        or "billing" in str(exc.message).lower()
    ):
        return QuotaTerminal(f"{text} (the credential or its billing is refused: no retry can succeed)")
    return ProviderError(text)
