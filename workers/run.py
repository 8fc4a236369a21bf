"""Run one worker in this process (``cognition worker``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.worker import Worker
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from cognition import logs
from cognition.settings import Settings
from workers.queue import UNREACHABLE, QueueUnreachable, connect
from workers.settings import worker_options

log = logging.getLogger("cognition.workers")


class ResilientWorker(Worker):
    """An Arq worker that outlives a Redis restart.

    Arq's polling loop lets a connection error end the worker, cancelling the jobs it runs.
    Here the loop is entered again after a pause: running jobs go on (they are tasks of
    this loop), the runtime built at startup is kept, and jobs whose end could not be
    recorded while Redis was away are taken again after their lease and found already stored.

    Arq marks a job taken with an in-progress key that lives as long as the longest job
    timeout (hours, for a big book): a job taken just before its worker died, or before a
    Redis outage broke its start, would wait that long. Here the key lives one lease, and the
    job's heartbeat (``workers.leases.job_lease``) renews it while the job runs.
    """

    def __init__(self, *args: Any, lease_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_progress_timeout_s = lease_seconds

    async def main(self) -> None:
        while True:
            try:
                await super().main()
                return
            except (RedisError, OSError) as exc:
                log.warning("Redis is unreachable (%s); polling again in 1 s", exc)
                await asyncio.sleep(1.0)


def run_worker(settings: Settings, burst: bool = False) -> int:
    """Run until stopped (SIGINT/SIGTERM), or with ``burst`` until the queue is empty.
    Returns the number of jobs that failed. Credentials Redis refuses end the worker at once
    (``QueueUnreachable``); a Redis that is not up yet is waited for."""
    asyncio.run(_check_credentials(settings))
    logs.configure(settings)
    worker = ResilientWorker(
        **worker_options(settings), burst=burst, lease_seconds=settings.queue.lease_seconds
    )
    worker.run()
    return worker.jobs_failed


async def _check_credentials(settings: Settings) -> None:
    """Waiting cannot fix a wrong password: say so now, in one line, instead of retrying."""
    try:
        pool = await connect(settings.queue)
    except QueueUnreachable as exc:
        if (
            isinstance(exc.__context__, AuthenticationError)
            or "WRONGPASS" in str(exc)
            or "NOAUTH" in str(exc)
        ):
            raise
        return  # not up yet: the worker waits for it
    try:
        await pool.ping()
    except (AuthenticationError, ResponseError) as exc:
        raise QueueUnreachable(settings.queue.url, exc) from None
    except UNREACHABLE:
        return
    finally:
        await pool.aclose()
