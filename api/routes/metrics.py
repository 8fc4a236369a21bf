"""``GET /metrics``: the Prometheus text format, for the caller's key.

Each scrape builds a registry of its own: the ledger's numbers read at scrape time (so the
documents and jobs of every worker process are counted, with no multiprocess files) and this
process's own measurements (``api.telemetry``), each dataset's latest audit
(``api.audit_metrics``), what each paid for (``api.spend_metrics``), and the Gemini models'
governor and circuit breaker (``api.governor_metrics``). A series labelled with a dataset is
shown only to a key that may read that dataset; series without a dataset label (requests,
search latency, queue depth, build, governor) are shown to any key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import get_args

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from api import telemetry
from api.audit_metrics import AuditCollector, latest_audits
from api.auth import Caller
from api.errors import ERROR_RESPONSES
from api.governor_metrics import GovernorCollector, read_status
from api.services import Services
from api.spend_metrics import SpendCollector, read_spend
from api.state import Deps
from cognition.keys import ALL
from cognition.ledger import IN_FLIGHT, TERMINAL, JobState, LedgerCounts
from ingest.catalog import document_state

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES)
log = logging.getLogger("cognition.metrics")

DOCUMENT_STATES = (*IN_FLIGHT, *TERMINAL, "interrupted")
JOB_STATES: tuple[str, ...] = get_args(JobState)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics: the datasets this key can read, and this process",
)
async def metrics_route(caller: Caller, services: Deps) -> Response:
    counts = await asyncio.to_thread(services.runtime.ledger.counts)
    visible = set(caller.visible(counts.datasets))
    if caller.may(ALL, "read"):  # the whole queue: only a key that may see every dataset
        depth = await queue_depth(services, counts)
    else:  # the queued jobs of the key's datasets, never a figure that counts another's
        depth = sum(
            n for (dataset, state), n in counts.jobs.items() if state == "queued" and dataset in visible
        )
    audits = await asyncio.to_thread(latest_audits, services.runtime.ledger, sorted(visible))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(counts, visible, depth))
    registry.register(AuditCollector(audits))
    registry.register(
        SpendCollector(*await asyncio.to_thread(read_spend, services.runtime.ledger, sorted(visible)))
    )
    registry.register(ProcessCollector())
    governor = await read_status(services.settings)
    if isinstance(governor, list):
        registry.register(GovernorCollector(governor))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def queue_depth(services: Services, counts: LedgerCounts) -> int | None:
    """Jobs waiting: the length of Arq's queue in Redis (a sorted set under the queue's
    name; Arq keeps a job there until it ends, so running jobs count too), or without Redis
    the ledger's queued jobs. None when Redis does not answer: the series is then absent,
    which an ``absent()`` alert sees, rather than a false 0."""
    if services.redis is None:
        return sum(n for (_, state), n in counts.jobs.items() if state == "queued")
    try:
        return int(await services.redis.zcard(services.settings.queue.name))
    except Exception as exc:
        log.warning("queue depth unknown: Redis did not answer (%s)", type(exc).__name__)
        return None


class LedgerCollector:
    """The ledger's series, from one ``LedgerCounts`` read, for the datasets in ``visible``.
    Every state of a visible dataset is shown, zero included, so an alert on a state
    (``cognition_documents{state="failed"} > 0``) and its recovery both have a series."""

    def __init__(self, counts: LedgerCounts, visible: set[str], depth: int | None) -> None:
        self.counts, self.visible, self.depth = counts, visible, depth

    def collect(self) -> Iterator[Metric]:
        names = sorted(self.visible)
        yield self._documents(names)
        yield from self._stored(names)
        yield self._jobs(names)
        if self.depth is not None:
            yield GaugeMetricFamily(
                "cognition_queue_depth",
                "Import jobs in the queue (Arq's in Redis, or the ledger's)",
                self.depth,
            )

    def _documents(self, names: list[str]) -> Metric:
        by: dict[tuple[str, ...], int] = {(d, s): 0 for d in names for s in DOCUMENT_STATES}
        for row in self.counts.documents:
            if row.dataset in self.visible:
                by[(row.dataset, row.state)] = by.get((row.dataset, row.state), 0) + row.documents
        for record in self.counts.working:
            if record.dataset in self.visible:
                key = (record.dataset, document_state(record))
                by[key] = by.get(key, 0) + 1
        return _gauge("cognition_documents", "Documents by state (from the ledger)", ("dataset", "state"), by)

    def _stored(self, names: list[str]) -> Iterable[Metric]:
        pages, chunks = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
        for row in self.counts.documents:
            if row.dataset in self.visible and row.state == "stored":
                pages[row.dataset] += row.pages
                chunks[row.dataset] += row.chunks
        yield _gauge(
            "cognition_pages_imported_total",
            "Pages of the stored documents (a gauge: deleting a document lowers it)",
            ("dataset",),
            {(d,): n for d, n in pages.items()},
        )
        yield _gauge(
            "cognition_chunks",
            "Chunks of the stored documents",
            ("dataset",),
            {(d,): n for d, n in chunks.items()},
        )

    def _jobs(self, names: list[str]) -> Metric:
        by: dict[tuple[str, ...], int] = {(d, s): 0 for d in names for s in JOB_STATES}
        for (dataset, state), n in self.counts.jobs.items():
            if dataset in self.visible:
                by[(dataset, state)] = by.get((dataset, state), 0) + n
        return _gauge("cognition_jobs", "Import jobs by state (from the ledger)", ("dataset", "state"), by)


class ProcessCollector:
    """This process's measurements (``api.telemetry``) and the build, merged into a scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from telemetry.REGISTRY.collect()
        info = GaugeMetricFamily("cognition_build_info", "The running version (always 1)", labels=["version"])
        info.add_metric([_version()], 1)
        yield info


def _gauge(name: str, doc: str, labels: tuple[str, ...], values: dict[tuple[str, ...], int]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for key in sorted(values):
        family.add_metric(list(key), values[key])
    return family


def _version() -> str:
    try:
        return version("cognition")
    except PackageNotFoundError:
        return "unknown"
