"""Task functions: unpack the job, call ``ingest``. Nothing else lives here."""

from __future__ import annotations

import logging
import time
from typing import Any

from arq import Retry

from cognition.paths import import_roots
from ingest.audit_jobs import run_audit_job, submit_due
from ingest.jobs import Submitter, run_crawl_job, run_file_job
from ingest.parking import RetryLater, attempt_of, worn_out
from ingest.reaper import reap
from workers.leases import job_lease
from workers.runtime import WorkerRuntime

log = logging.getLogger("cognition.workers")


def _runtime(ctx: dict[str, Any]) -> WorkerRuntime:
    runtime: WorkerRuntime = ctx["runtime"]
    return runtime


def _attempt(ctx: dict[str, Any]) -> int:
    """Arq's ``job_try`` counts every run; a parked job's runs (``ingest.parking``) do not."""
    return attempt_of(_runtime(ctx).runtime.ledger, ctx["job_id"], ctx["job_try"])


def _worn_out(ctx: dict[str, Any]) -> dict[str, object] | None:
    """Arq's ``max_tries`` leaves room for the parks, so the tries are counted here."""
    runtime = _runtime(ctx)
    return worn_out(runtime.runtime.ledger, ctx["job_id"], _attempt(ctx), runtime.settings.queue)


async def ingest_file(ctx: dict[str, Any], *positional: Any, **arguments: Any) -> dict[str, object]:
    """Import one file. The job's arguments are checked by ``run_file_job``, not by Python's
    call: a malformed job (anyone with access to Redis can write one) is refused with its
    reason instead of failing with a ``TypeError``."""
    runtime = _runtime(ctx)
    if positional:
        arguments = {**arguments, "positional": positional}
    if (gave_up := _worn_out(ctx)) is not None:
        return gave_up
    async with job_lease(runtime.settings.queue.url, ctx["job_id"], runtime.settings.queue.lease_seconds):
        try:
            result = await run_file_job(runtime.runtime, arguments, _attempt(ctx), ctx["job_id"])
        except RetryLater as exc:
            raise Retry(defer=exc.delay) from exc
    if "refused" in result:
        log.warning("job %s refused: %s", ctx["job_id"], result["refused"])
    return result


async def crawl_site(ctx: dict[str, Any], *positional: Any, **arguments: Any) -> dict[str, object]:
    """Crawl a site. Like ``ingest_file``, the job's arguments are checked by the job's body
    (``run_crawl_job``), so a malformed job is refused with its reason."""
    runtime = _runtime(ctx)
    if positional:
        arguments = {**arguments, "positional": positional}
    if (gave_up := _worn_out(ctx)) is not None:
        return gave_up
    async with job_lease(runtime.settings.queue.url, ctx["job_id"], runtime.settings.queue.lease_seconds):
        try:
            result = await run_crawl_job(runtime.runtime, arguments, _attempt(ctx), ctx["job_id"])
        except RetryLater as exc:
            raise Retry(defer=exc.delay) from exc
    if "refused" in result:
        log.warning("job %s refused: %s", ctx["job_id"], result["refused"])
    return result


async def reap_abandoned(ctx: dict[str, Any]) -> int:
    runtime = _runtime(ctx)
    queue = runtime.settings.queue
    reaped = await reap(
        runtime.runtime.ledger, runtime.queue, older_than=queue.lease_seconds * 2, now=time.time()
    )
    return len(reaped)


async def audit_dataset(ctx: dict[str, Any], *positional: Any, **arguments: Any) -> dict[str, object]:
    """Audit a dataset and store the audit; the dataset argument is checked by the body."""
    runtime = _runtime(ctx)
    if positional:
        arguments = {**arguments, "positional": positional}
    async with job_lease(runtime.settings.queue.url, ctx["job_id"], runtime.settings.queue.lease_seconds):
        return await run_audit_job(runtime.runtime, arguments, ctx["job_try"], ctx["job_id"])


async def periodic_audit(ctx: dict[str, Any]) -> int:
    """Arq cron, each minute on one worker: queue the audits that are due."""
    runtime = _runtime(ctx)
    every = runtime.settings.audit.every_seconds
    if every <= 0:
        return 0
    ledger = runtime.runtime.ledger
    submitter = Submitter(ledger, runtime.queue, import_roots(runtime.settings))
    return len(await submit_due(submitter, ledger, every, time.time()))
