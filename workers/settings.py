"""Arq ``WorkerSettings``: ``arq workers.settings.WorkerSettings`` or ``cognition worker``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from cognition import logs
from cognition.settings import Settings, get_settings
from ingest.audit_jobs import AUDIT_DATASET
from ingest.jobs import CRAWL_SITE, INGEST_FILE
from workers.queue import deserialize, redacted, redis_settings, serialize
from workers.runtime import WorkerRuntime
from workers.tasks import audit_dataset, crawl_site, ingest_file, periodic_audit, reap_abandoned

log = logging.getLogger("cognition.workers")


async def startup(ctx: dict[str, Any]) -> None:
    if "runtime" in ctx:  # the worker's loop was entered again after a Redis outage
        return
    settings: Settings = ctx.get("settings") or get_settings()
    runtime = WorkerRuntime.build(settings, ctx["redis"])
    # cognee and the model load here, once, before any job: not inside the first jobs.
    await runtime.runtime.start()
    logs.configure(settings)  # again: cognee's start replaced the root logger's handlers
    ctx["runtime"] = runtime
    log.info("worker ready: queue %s on %s", settings.queue.name, redacted(settings.queue.url))
    await reap_abandoned(ctx)


async def tag_job(ctx: dict[str, Any]) -> None:
    """Every line the job logs names it (its task only: the next job starts a task of its own)."""
    logs.tag(job_id=str(ctx["job_id"]), job_try=str(ctx["job_try"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    runtime: WorkerRuntime | None = ctx.get("runtime")
    if runtime is not None:
        await runtime.close()


def worker_options(settings: Settings) -> dict[str, Any]:
    """Everything ``arq.Worker`` needs, from the one settings object."""
    queue = settings.queue
    return {
        "functions": [
            # parked runs (ingest.parking) count in Arq's job_try but not as attempts
            func(ingest_file, name=INGEST_FILE, max_tries=queue.max_tries + queue.max_parks),
            func(crawl_site, name=CRAWL_SITE, max_tries=queue.max_tries + queue.max_parks),
            func(audit_dataset, name=AUDIT_DATASET, max_tries=1),  # a failed audit is not retried
        ],
        "cron_jobs": [
            cron(reap_abandoned, second={0}, run_at_startup=False, unique=True),
            cron(periodic_audit, second={30}, run_at_startup=False, unique=True),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": tag_job,
        "job_completion_wait": queue.shutdown_grace_seconds,
        "redis_settings": redis_settings(queue),
        "queue_name": queue.name,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "max_jobs": queue.max_jobs,
        "job_timeout": queue.job_timeout_seconds,
        "keep_result": queue.keep_result_seconds,
        "max_tries": queue.max_tries,
        "poll_delay": queue.poll_seconds,
        "ctx": {"settings": settings},
        "handle_signals": True,
    }


class WorkerSettings:
    """For the ``arq`` command line: settings come from the environment (``COGNITION_*``)."""

    _options = worker_options(get_settings())
    functions: ClassVar[list[Any]] = _options["functions"]
    cron_jobs: ClassVar[list[Any]] = _options["cron_jobs"]
    on_startup = staticmethod(startup)
    on_shutdown = staticmethod(shutdown)
    on_job_start = staticmethod(tag_job)
    job_completion_wait: ClassVar[int] = _options["job_completion_wait"]
    redis_settings: ClassVar[RedisSettings] = _options["redis_settings"]
    queue_name: ClassVar[str] = _options["queue_name"]
    job_serializer = staticmethod(serialize)
    job_deserializer = staticmethod(deserialize)
    max_jobs: ClassVar[int] = _options["max_jobs"]
    job_timeout: ClassVar[int] = _options["job_timeout"]
    keep_result: ClassVar[int] = _options["keep_result"]
    max_tries: ClassVar[int] = _options["max_tries"]
    poll_delay: ClassVar[float] = _options["poll_delay"]
