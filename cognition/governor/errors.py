"""What a governed provider call can end in, besides its answer.

::

    CognitionError
    └── ProviderError               the model provider did not answer usefully
        ├── ProviderUnavailable     5xx, connection failure, malformed answer (retryable, not hot)
        ├── QuotaPaced              per-minute 429s outlasted the pacing the governor allows (retryable)
        ├── QuotaParked             the daily quota is used up: park the work ``until`` it resets
        ├── QuotaTerminal           zero quota, billing, a refused key, a request larger than
        │                           the whole quota: no retry can succeed; stop and report
        └── CircuitOpen             too many failures in a row: no call is made ``until`` (the
                                    circuit breaker, ``cognition.governor.breaker``)

The governor is the only place that retries a provider call, and it retries only a
per-minute 429, after the server's delay. Everything else reaches the job layer typed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cognition.errors import CognitionError


class ProviderError(CognitionError):
    """A call to the model provider failed."""


class ProviderUnavailable(ProviderError):
    """The provider failed this call (5xx, network, a malformed answer); later may work."""

    retryable = True


class QuotaPaced(ProviderError):
    """Per-minute 429s went on after every pause the server asked for."""

    retryable = True


class QuotaParked(ProviderError):
    """The daily quota of a model and key is used up until ``until`` (epoch seconds)."""

    retryable = True

    def __init__(self, model: str, until: float, reason: str) -> None:
        when = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
        super().__init__(f"the daily quota of {model} is used up ({reason}): work parks until {when}")
        self.model = model
        self.until = until


class QuotaTerminal(ProviderError):
    """No retry can succeed: the quota is zero, billing is off, or the key is refused."""


class CircuitOpen(ProviderError):
    """The circuit breaker of a model and key is open: no call is made ``until`` (epoch
    seconds of the governor's clock); the work parks until then, never retried hot."""

    retryable = True

    def __init__(self, model: str, until: float, reason: str = "") -> None:
        when = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
        why = f" ({reason})" if reason else ""
        super().__init__(f"the circuit of {model} is open{why}: no call until {when}")
        self.model = model
        self.until = until
