"""The circuit breaker of a model and credential: after repeated failures, no call at all.

The governor paces a per-minute 429 by the server's delay; the breaker is the next line:
when the provider keeps failing, every process stops calling it for a while instead of
each finding out again. What counts as a failure, per provider answer:

- a 5xx, a network failure or timeout: **failure**;
- a per-minute 429: the first one a call meets is not counted (pacing by the server's
  delay is the governor's job, and a quota that is full answers a burst of them), but one
  the call meets again after waiting the server's delay is a **failure** (the pause did not
  help: a storm), and a probe's first one fails the probe; a call the governor gave up
  pacing (``QuotaPaced``) is a failure if its last refusal was not already counted;
- a success: clears the count (the count is of failures since the last success, each
  within ``window_seconds`` of the one before: a storm's refusals are paced a server's delay
  apart, tens of seconds for Gemini, so a fixed window could hold too few of them);
- a per-day 429, a zero quota, a refused key or request, a cancelled call: **neutral** (the
  governor parks or stops those itself; a broken quota is not a broken service).

So a storm of 429s opens the circuit after at most (callers in flight + ``failures``)
refused requests, paced by the server's delays.

States, shared by every process through the breaker's store (Redis when the queue has
one, this process otherwise):

- **closed**: calls go through; ``failures`` failures within ``window_seconds`` open it;
- **open** until ``until``: no call is made, ``Governor.call`` raises ``CircuitOpen(until)``;
  each reopening after a failed probe doubles ``open_seconds``, up to ``max_open_seconds``;
- **half-open** after ``until``: exactly one caller (across all processes) is the probe;
  the others get ``CircuitOpen`` with a short ``until``. The probe's success closes the
  circuit, its failure reopens it; a probe that ends neutral, or whose process dies
  (its lease of ``probe_seconds`` ends), lets another caller probe.

Times are the governor's clock (epoch seconds), sent with each call, so a test can move them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from google.genai import errors as genai_errors

from cognition.governor.errors import CircuitOpen, ProviderUnavailable
from cognition.governor.refusal import read_refusal

T = TypeVar("T")
log = logging.getLogger(__name__)
Outcome = Literal["success", "failure", "paced", "neutral"]
State = Literal["closed", "half_open", "open"]
HALF_OPEN_WAIT = 5.0  # seconds a caller that is not the probe waits before asking again, at most


@dataclass(frozen=True)
class BreakerPolicy:
    """When the circuit opens, and for how long (``gemini.breaker_*`` settings)."""

    failures: int = 5
    window_seconds: float = 120.0  # the longest gap between two failures that both count
    open_seconds: float = 60.0
    max_open_seconds: float = 300.0
    probe_seconds: float = 120.0  # the probe's lease: a probe that never ends frees it then


@dataclass(frozen=True)
class Verdict:
    """May this call go to the provider now? If not, not before ``until``."""

    allowed: bool
    state: State
    until: float = 0.0


@dataclass(frozen=True)
class CircuitState:
    """A circuit as the CLI, ``/readyz`` and ``/metrics`` show it."""

    state: State
    until: float  # open: when it half-opens; 0 when closed
    failures: int  # failures counted toward opening (closed)
    reopens: int  # failed probes since it last closed


class BreakerStore(Protocol):
    """Where circuits live; every method is atomic per ``key`` (a model and credential)."""

    async def enter(self, key: str, ticket: str, now: float, policy: BreakerPolicy) -> Verdict:
        """Admit the call ``ticket`` (taking the probe if the circuit is half-open), or refuse."""
        ...

    async def record(
        self, key: str, ticket: str, outcome: Outcome, now: float, policy: BreakerPolicy
    ) -> None:
        """What the provider's answer to ``ticket`` means for the circuit."""
        ...

    async def state(self, key: str, now: float) -> CircuitState: ...

    async def close(self) -> None: ...


@dataclass
class _Circuit:
    failures: list[float] = field(default_factory=list)
    opened_until: float = 0.0  # 0: closed
    reopens: int = 0
    probe: str = ""
    probe_until: float = 0.0


class MemoryBreakerStore:
    """Implements ``BreakerStore`` in this process (under a lock never held across an await)."""

    def __init__(self) -> None:
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    async def enter(self, key: str, ticket: str, now: float, policy: BreakerPolicy) -> Verdict:
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            if circuit.opened_until == 0:
                return Verdict(True, "closed")
            if now < circuit.opened_until:
                return Verdict(False, "open", circuit.opened_until)
            if circuit.probe and circuit.probe != ticket and circuit.probe_until > now:
                return Verdict(False, "half_open", min(circuit.probe_until, now + HALF_OPEN_WAIT))
            circuit.probe, circuit.probe_until = ticket, now + policy.probe_seconds
            return Verdict(True, "half_open")

    async def record(
        self, key: str, ticket: str, outcome: Outcome, now: float, policy: BreakerPolicy
    ) -> None:
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            probe = bool(circuit.probe) and circuit.probe == ticket
            if outcome == "success" and (probe or circuit.opened_until == 0):
                self._circuits[key] = _Circuit()
            elif outcome in ("failure", "paced") and probe:
                circuit.reopens += 1
                circuit.opened_until = now + reopen_seconds(policy, circuit.reopens)
                circuit.probe, circuit.probe_until = "", 0.0
            elif outcome == "failure" and circuit.opened_until == 0:
                if circuit.failures and now - circuit.failures[-1] > policy.window_seconds:
                    circuit.failures = []  # too long after the last one: counting starts again
                circuit.failures.append(now)
                if len(circuit.failures) >= policy.failures:
                    circuit.failures, circuit.opened_until = [], now + policy.open_seconds
            elif outcome != "success" and probe:
                circuit.probe, circuit.probe_until = "", 0.0

    async def state(self, key: str, now: float) -> CircuitState:
        with self._lock:
            circuit = self._circuits.get(key, _Circuit())
            return CircuitState(
                circuit_state(circuit.opened_until, now),
                circuit.opened_until,
                len(circuit.failures),
                circuit.reopens,
            )

    async def close(self) -> None:
        return None


def reopen_seconds(policy: BreakerPolicy, reopens: int) -> float:
    """How long the circuit stays open after its ``reopens``-th failed probe."""
    return float(min(policy.open_seconds * 2**reopens, policy.max_open_seconds))


def circuit_state(opened_until: float, now: float) -> State:
    if opened_until == 0:
        return "closed"
    return "open" if now < opened_until else "half_open"


_PROCESS_STORES: dict[str, MemoryBreakerStore] = {}
_PROCESS_LOCK = threading.Lock()


def process_store(scope: str) -> MemoryBreakerStore:
    """The one in-process store of a data directory (``scope``): the embedded API server's
    imports and its ``/readyz`` see the same circuits."""
    with _PROCESS_LOCK:
        return _PROCESS_STORES.setdefault(scope, MemoryBreakerStore())


def outcome_of(exc: BaseException) -> Outcome:
    """A failed provider call, as the breaker counts it (see the module's docstring)."""
    if not isinstance(exc, Exception):
        return "neutral"  # cancelled: says nothing about the provider
    if not isinstance(exc, genai_errors.APIError):
        return "failure"  # network, timeout, an unreadable answer
    if exc.code >= 500:
        return "failure"
    refusal = read_refusal(exc.code, exc.details)
    return "paced" if refusal is not None and refusal.kind == "minute" else "neutral"


class Breaker:
    """The circuit of one model and credential (``key``), on the governor's ``clock``."""

    def __init__(
        self,
        store: BreakerStore,
        policy: BreakerPolicy,
        model: str,
        key: str,
        clock: Callable[[], float],
    ) -> None:
        self.store, self.policy, self.model, self.key = store, policy, model, key
        self.clock = clock

    def guard(self, fn: Callable[[], Awaitable[T]]) -> Guard[T]:
        return Guard(self, fn)

    async def state(self) -> CircuitState:
        return await self.store.state(self.key, self.clock())


class Guard(Generic[T]):
    """One governed call seen by the breaker: ``enter`` before each attempt (raises
    ``CircuitOpen``), ``call`` makes the attempt and records what its answer means."""

    def __init__(self, breaker: Breaker, fn: Callable[[], Awaitable[T]]) -> None:
        self._breaker, self._fn = breaker, fn
        self._ticket = uuid.uuid4().hex
        self._refused_per_minute = 0  # per-minute 429s this call met
        self._last: Outcome = "neutral"  # what its last attempt was recorded as

    async def enter(self) -> None:
        b = self._breaker
        verdict = await b.store.enter(b.key, self._ticket, b.clock(), b.policy)
        if not verdict.allowed:
            reason = "a probe call is under way" if verdict.state == "half_open" else "too many failures"
            raise CircuitOpen(b.model, verdict.until, reason)

    async def call(self) -> T:
        """The attempt, if the circuit still allows it (it may have opened while this call
        waited for its turn in the governor)."""
        await self.enter()
        try:
            result = await self._fn()
        except BaseException as exc:
            outcome = outcome_of(exc)
            if outcome == "paced":
                self._refused_per_minute += 1
                if self._refused_per_minute > 1:  # refused again after the server's delay
                    outcome = "failure"
            await self._record(outcome)
            raise
        await self._record("success")
        return result

    async def gave_up(self) -> None:
        """The governor gave up pacing this call (``QuotaPaced``): a failure, unless its last
        refusal was counted as one already."""
        if self._last != "failure":
            await self._record("failure")

    async def abandon(self) -> None:
        """The call ended before an attempt (a probe frees its place for another caller)."""
        await self._record("neutral")

    async def _record(self, outcome: Outcome) -> None:
        """Record the answer; if the store is gone, a paid answer is still returned (an
        unrecorded probe's lease ends by itself)."""
        b = self._breaker
        self._last = outcome
        try:
            await b.store.record(b.key, self._ticket, outcome, b.clock(), b.policy)
        except ProviderUnavailable as exc:
            log.warning("%s: the circuit breaker did not record a call (%s)", b.model, exc)
