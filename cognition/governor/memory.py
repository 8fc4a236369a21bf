"""The governor's counts in this process (the embedded default: no Redis).

The same arithmetic as the Redis script, on Python structures under a lock (never held
across an ``await``), so several event loops or threads of one process share the quota.
A window holds at most a minute's quota of calls, so scanning it is cheap.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from cognition.governor.port import Day, Decision, Lane, Outcome, Quota

_POLL = 0.05  # seconds a caller waits for a concurrency slot before asking again


@dataclass
class _State:
    window: dict[str, float] = field(default_factory=dict)  # ticket -> admitted at (ended at, once done)
    tokens: dict[str, int] = field(default_factory=dict)  # reservation per ticket in the window
    total: int = 0
    leases: dict[str, float] = field(default_factory=dict)  # ticket -> expiry
    days: Counter[str] = field(default_factory=Counter)
    blocked_until: float = 0.0
    parked_until: float = 0.0
    limit: float | None = None


class MemoryBackend:
    """Implements ``cognition.governor.port.Backend`` in this process."""

    def __init__(self) -> None:
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

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
        with self._lock:
            state = self._states.setdefault(key, _State())
            self._expire(state, quota, now)
            decision = self._check(state, tokens, quota, now, day, lane)
            if decision.granted:
                state.window[ticket] = now
                state.tokens[ticket] = tokens
                state.total += tokens
                state.leases[ticket] = now + quota.lease_seconds
                state.days[day.name] += 1
            return decision

    def _check(self, state: _State, tokens: int, full: Quota, now: float, day: Day, lane: Lane) -> Decision:
        if state.blocked_until > now:  # the server's refusals stop every lane
            return Decision("blocked", state.blocked_until - now)
        if state.parked_until > now:
            return Decision("day", state.parked_until - now)
        quota = full.for_lane(lane)
        if tokens > quota.tokens_per_minute:
            return Decision("too_large")
        if state.days[day.name] >= quota.requests_per_day:
            return Decision("day", day.ends - now)
        if len(state.leases) >= full.slots(self._limit(state, full), lane):
            return Decision("concurrency", _POLL)
        free_at = self._free_at(state, len(state.window) - quota.requests_per_minute, full, now)
        if len(state.window) >= quota.requests_per_minute:
            return Decision("requests", free_at)
        if state.total + tokens > quota.tokens_per_minute:
            return Decision("tokens", free_at)
        return Decision("ok")

    @staticmethod
    def _free_at(state: _State, over: int, quota: Quota, now: float) -> float:
        """Seconds until the window has room for one more request: its ``over + 1``-th
        oldest call leaves (the oldest when the window is not over the lane's cap)."""
        if not state.window:
            return 0.0
        ordered = sorted(state.window.values())
        return ordered[min(max(over, 0), len(ordered) - 1)] + quota.window_seconds - now

    def _expire(self, state: _State, quota: Quota, now: float) -> None:
        for ticket in [t for t, at in state.window.items() if at <= now - quota.window_seconds]:
            del state.window[ticket]
            state.total -= state.tokens.pop(ticket, 0)
        for ticket in [t for t, expiry in state.leases.items() if expiry <= now]:
            del state.leases[ticket]

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
        with self._lock:
            state = self._states.setdefault(key, _State())
            state.leases.pop(ticket, None)
            if ticket in state.window:  # the call counts from its end: the server saw it by now
                state.window[ticket] = now
            if used is not None and ticket in state.tokens:
                state.total += used - state.tokens[ticket]
                state.tokens[ticket] = used
            limit = self._limit(state, quota)
            if outcome == "ok":
                state.limit = min(float(quota.max_concurrency), limit + 1.0 / limit)
            elif outcome == "throttled":
                if state.blocked_until <= now:  # the first 429 of a block halves, its echoes do not
                    state.limit = max(1.0, limit / 2)
                state.blocked_until = max(state.blocked_until, blocked_until)
            elif outcome == "parked":
                state.parked_until = max(state.parked_until, blocked_until)

    async def concurrency(self, key: str, quota: Quota) -> float:
        with self._lock:
            return self._limit(self._states.setdefault(key, _State()), quota)

    @staticmethod
    def _limit(state: _State, quota: Quota) -> float:
        limit = float(quota.max_concurrency) if state.limit is None else state.limit
        return min(limit, float(quota.max_concurrency))

    async def close(self) -> None:
        return None
