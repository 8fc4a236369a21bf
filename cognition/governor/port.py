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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")  # Gemini's daily quotas reset at midnight here
Reason = Literal["ok", "blocked", "requests", "tokens", "concurrency", "day", "too_large"]
Outcome = Literal["ok", "throttled", "parked", "failed"]


@dataclass(frozen=True)
class Quota:
    """The quotas of one model and credential, as the provider's console states them."""

    requests_per_minute: int
    tokens_per_minute: int
    requests_per_day: int
    max_concurrency: int
    window_seconds: float = 60.0  # the provider's "minute" (a test stub's may be shorter)
    lease_seconds: float = 300.0  # a call in flight longer than this (its process died) frees its slot


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
        self, key: str, ticket: str, tokens: int, quota: Quota, now: float, day: Day
    ) -> Decision:
        """Admit one call of ``tokens`` input tokens, or say why not, atomically."""
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
