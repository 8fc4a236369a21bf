"""The governor's storage port: one atomic admit, one release.

A backend keeps, per (model, credential fingerprint), the admitted requests of the sliding
window with their token reservations, the requests of the current quota day, the calls in
flight (leases that expire, so a killed process frees its slots), the shared "blocked until"
that a per-minute 429 sets, the "parked until" of a per-day 429, and the adaptive
concurrency limit. ``acquire`` checks all of it and admits or refuses in one step. A call
counts in the window from its end, not its admission: the server saw it somewhere between
the two, and counting from the end is the only choice that never lets the next window's
calls reach the server early (counting from admission gave 6 refusals in 54 calls on the
stub, from the end none). Two backends implement it: ``memory`` (one process) and
``redis_store`` (every process on one Redis, one Lua script).

Two lanes share each quota. A ``query`` call (an agent's question) may use all of it; a
``bulk`` call (an import's embeddings and extractions) is admitted only while the window's
requests and tokens, the day's requests and the calls in flight stay within ``1 -
query_share`` of their quota (``Quota.for_lane``, ``Quota.slots``), so whatever an import
does, the share it cannot take is there for queries. The server's own refusals are not
lanes': a per-minute 429's "blocked until" and a per-day 429's "parked until" stop both,
since the server would refuse a query just as it refused the import.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")  # Gemini's daily quotas reset at midnight here
Reason = Literal["ok", "blocked", "requests", "tokens", "concurrency", "day", "too_large"]
Outcome = Literal["ok", "throttled", "parked", "failed"]
Lane = Literal["bulk", "query"]


@dataclass(frozen=True)
class Quota:
    """The quotas of one model and credential, as the provider's console states them."""

    requests_per_minute: int
    tokens_per_minute: int
    requests_per_day: int
    max_concurrency: int
    window_seconds: float = 60.0  # the provider's "minute" (a test stub's may be shorter)
    lease_seconds: float = 300.0  # a call in flight longer than this (its process died) frees its slot
    query_share: float = 0.0  # of each quota, kept for the query lane (bulk never takes it)

    def for_lane(self, lane: Lane) -> Quota:
        """The quota a ``lane`` may fill: all of it for queries; for bulk, ``1 - query_share``
        of the requests, tokens and day (rounded down, at least one request)."""
        if lane == "query" or self.query_share <= 0:
            return self
        return replace(
            self,
            requests_per_minute=bulk_part(self.requests_per_minute, self.query_share),
            tokens_per_minute=bulk_part(self.tokens_per_minute, self.query_share),
            requests_per_day=bulk_part(self.requests_per_day, self.query_share),
        )

    def slots(self, limit: float, lane: Lane) -> int:
        """Calls a ``lane`` may have in flight under the adaptive concurrency ``limit``."""
        share = self.query_share if lane == "bulk" else 0.0
        return bulk_part(max(1, math.floor(limit)), share)


def bulk_part(value: int, share: float) -> int:
    """``value`` less the query lane's ``share``, rounded down, never below one (a quota too
    small to split keeps one call for bulk). The Redis script rounds the same way."""
    return max(1, math.floor(value * (1.0 - share) + 1e-9))


@dataclass(frozen=True)
class Decision:
    """An admission (``reason == "ok"``) or why not and for how long (``wait`` seconds)."""

    reason: Reason
    wait: float = 0.0

    @property
    def granted(self) -> bool:
        return self.reason == "ok"


@dataclass(frozen=True)
class Day:
    """The provider's quota day: its name and the instant it ends (epoch seconds)."""

    name: str
    ends: float


class Backend(Protocol):
    """Where the governor's counts live. ``key`` names a model and credential fingerprint."""

    async def acquire(
        self,
        key: str,
        ticket: str,
        tokens: int,
        quota: Quota,
        now: float,
        day: Day,
        lane: Lane = "bulk",
    ) -> Decision:
        """Admit one call of ``tokens`` input tokens in ``lane``, or say why not, atomically."""
        ...

    async def release(
        self,
        key: str,
        ticket: str,
        used: int | None,
        outcome: Outcome,
        quota: Quota,
        now: float,
        blocked_until: float,
    ) -> None:
        """End a call: free its slot, replace its token reservation by ``used`` (None: keep
        it), adapt concurrency (``throttled`` halves it once per block and sets
        ``blocked_until``; ``ok`` adds one per limit's worth of successes); ``parked``
        refuses every call as "day" until ``blocked_until``."""
        ...

    async def concurrency(self, key: str, quota: Quota) -> float:
        """The adaptive concurrency limit now (for metrics and tests)."""
        ...

    async def close(self) -> None: ...


def fingerprint(secret: str) -> str:
    """A credential's name in keys and logs: a hash prefix, never the key itself."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def quota_day(now: float) -> Day:
    """The Pacific calendar day holding ``now``, and the next Pacific midnight."""
    local = datetime.fromtimestamp(now, PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return Day(local.date().isoformat(), midnight.timestamp())
