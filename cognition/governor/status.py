"""What the governor and circuit breaker of each configured Gemini model say now: for
``cognition governor``, ``/readyz`` and ``/metrics``.

Read from the shared store when the queue has a Redis (every worker's state, as they all
see it). Without Redis each process keeps its own counts: the circuit is shared by the
processes' callers of one data directory in this process only, and the pacing state
("blocked until", "parked until") of another process cannot be seen, so it reads as none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from redis.exceptions import RedisError

from cognition.governor.breaker import State
from cognition.governor.errors import ProviderUnavailable
from cognition.governor.governor import Governor
from cognition.settings import ModelQuotaSettings, Settings

CIRCUIT_RANK: dict[State, int] = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True)
class ModelStatus:
    """One model and key, as an operator reads it (times are epoch seconds; None: not so)."""

    role: str  # embedding | extraction
    model: str
    circuit: State
    open_until: float | None
    failures: int  # counted toward opening the circuit
    reopens: int  # failed probes since it last closed
    blocked_until: float | None  # a per-minute 429's pause, for every caller
    parked_until: float | None  # the day's quota is used up until then
    concurrency: float  # the adaptive limit of calls in flight
    max_concurrency: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def degraded(self, now: float) -> str | None:
        """Why this model cannot be called now, or None."""
        if self.circuit == "open":
            return f"{self.model}: circuit open until {_iso(self.open_until)} after repeated failures"
        if self.circuit == "half_open":
            return f"{self.model}: circuit half-open, a probe call decides"
        if self.parked_until is not None and self.parked_until > now:
            return f"{self.model}: the daily quota is used up until {_iso(self.parked_until)}"
        return None


def configured_models(settings: Settings) -> list[tuple[str, str, ModelQuotaSettings]]:
    """(role, model, quota) of each Gemini model the settings use; empty when none."""
    gemini, found = settings.gemini, []
    if settings.embedding.provider == "gemini":
        found.append(("embedding", gemini.embedding_model, gemini.embedding_quota))
    if settings.extraction.extractor == "gemini":
        found.append(("extraction", gemini.extraction_model, gemini.extraction_quota))
    return found


async def governor_status(settings: Settings, clock: Callable[[], float] = time.time) -> list[ModelStatus]:
    """The status of each configured Gemini model (a ``ProviderUnavailable`` if the shared
    Redis does not answer; a ``ConfigurationError`` without an API key)."""
    from cognition.embedding.gemini import api_key
    from cognition.governor.factory import open_governor

    statuses = []
    for role, model, quota in configured_models(settings):
        governor = open_governor(settings, model, quota, api_key(settings.gemini), clock)
        try:
            statuses.append(await _status(governor, role, clock()))
        finally:
            await governor.close()
    return statuses


async def _status(governor: Governor, role: str, now: float) -> ModelStatus:
    assert governor.breaker is not None
    circuit = await governor.breaker.store.state(governor.key, now)
    blocked, parked = await _pacing(governor)
    return ModelStatus(
        role=role,
        model=governor.model,
        circuit=circuit.state,
        open_until=circuit.until if circuit.state != "closed" else None,
        failures=circuit.failures,
        reopens=circuit.reopens,
        blocked_until=blocked if blocked > now else None,
        parked_until=parked if parked > now else None,
        concurrency=await governor.concurrency(),
        max_concurrency=governor.quota.max_concurrency,
    )


async def _pacing(governor: Governor) -> tuple[float, float]:
    """The shared "blocked until" and "parked until" in the governor's Redis (0 without)."""
    from cognition.governor.redis_store import RedisBackend

    backend = governor.backend
    if not isinstance(backend, RedisBackend):
        return 0.0, 0.0
    try:
        blocked, parked = await backend._redis.hmget(
            backend._keys(governor.key)[2], ["blocked_until", "parked_until"]
        )
    except RedisError as exc:
        raise ProviderUnavailable(f"the rate governor's Redis is not reachable: {exc}") from None
    return float(blocked or 0), float(parked or 0)


def _iso(when: float | None) -> str:
    from datetime import UTC, datetime

    return "?" if when is None else datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
