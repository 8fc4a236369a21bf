"""The Gemini models' governor and circuit breaker in ``/metrics`` (and ``/readyz``), read at
request time from the shared store (``cognition.governor.status``), so every worker's state
shows here. Only when a Gemini model is configured; a store that does not answer leaves the
series absent (an ``absent()`` alert sees it), never a false 0.

``cognition_governor_circuit_state`` is a number an alert compares: 0 closed, 1 half-open,
2 open. The ``*_until_seconds`` series are Unix times (0: not so), so ``… - time()`` is what
is left of the pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from cognition.errors import CognitionError
from cognition.governor.status import CIRCUIT_RANK, ModelStatus, configured_models, governor_status
from cognition.settings import Settings

log = logging.getLogger("cognition.metrics")
READ_SECONDS = 3.0  # a Redis that hangs must not hang the probe or the scrape


async def read_status(settings: Settings) -> list[ModelStatus] | str | None:
    """Each configured model's status; None when no Gemini model is configured; the reason
    when it cannot be read."""
    if not configured_models(settings):
        return None
    try:
        return await asyncio.wait_for(governor_status(settings), READ_SECONDS)
    except (CognitionError, TimeoutError) as exc:
        log.warning("the governor's state is unknown: %s", exc or type(exc).__name__)
        return f"the governor's state is unknown: {exc or type(exc).__name__}"


class GovernorCollector:
    def __init__(self, statuses: Sequence[ModelStatus]) -> None:
        self.statuses = statuses

    def collect(self) -> Iterator[Metric]:
        labels = ["role", "model"]
        state = GaugeMetricFamily(
            "cognition_governor_circuit_state",
            "The model's circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=labels,
        )
        opened = GaugeMetricFamily(
            "cognition_governor_open_until_seconds",
            "When the open circuit half-opens (Unix time; 0 closed)",
            labels=labels,
        )
        blocked = GaugeMetricFamily(
            "cognition_governor_blocked_until_seconds",
            "Every caller waits a per-minute 429's delay until then (Unix time; 0: not blocked)",
            labels=labels,
        )
        parked = GaugeMetricFamily(
            "cognition_governor_parked_until_seconds",
            "The day's quota is used up and work parks until then (Unix time; 0: not parked)",
            labels=labels,
        )
        limit = GaugeMetricFamily(
            "cognition_governor_concurrency_limit", "The adaptive limit of calls in flight", labels=labels
        )
        for status in self.statuses:
            key = [status.role, status.model]
            state.add_metric(key, CIRCUIT_RANK[status.circuit])
            opened.add_metric(key, status.open_until or 0.0)
            blocked.add_metric(key, status.blocked_until or 0.0)
            parked.add_metric(key, status.parked_until or 0.0)
            limit.add_metric(key, status.concurrency)
        yield from (state, opened, blocked, parked, limit)
