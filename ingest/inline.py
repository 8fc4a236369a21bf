"""Imports without Redis: the process that accepts submissions (the API server) runs them
itself, one job at a time, with the same job bodies, ledger states, job ids and conflict
answers as the Arq workers.

The ledger's ``jobs`` table is the queue: a submission is a row (``queued``); the runner
takes the oldest due row, runs it, and records the outcome. A job retried after a transient
failure waits until its ``not_before``, and so does a job parked until its provider may be
called (``ingest.parking``: its attempt is given back). A process that stops mid-job leaves the row
``running``: the next runner to start puts it back in the queue, and the importer redoes
the document whose owner has ended. A job that was taken more than ``queue.max_tries``
times without finishing (it stopped the server every time) fails instead of looping.

One runner per data directory: it holds ``locks/inline-runner.lock`` (an flock, released
when its process ends, however it ends). Another server on the same data directory accepts
submissions into the same ledger and leaves them to the runner that holds the lock, taking
over if that one stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time

from cognition.ledger import LIVE, JobRecord, Ledger
from cognition.logs import log_context
from cognition.runtime import Runtime
from ingest.audit_jobs import run_audit_job
from ingest.background import cancel
from ingest.jobs import run_crawl_job, run_file_job
from ingest.parking import RetryLater

log = logging.getLogger("cognition.inline")
IDLE_SECONDS = 5.0  # the runner looks at the ledger this often when nobody wakes it


class InlineQueue:
    """``ingest.jobs.JobQueue`` on the ledger's jobs table (the submitter records the row)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.wake = asyncio.Event()

    async def enqueue(self, job_id: str, function: str, arguments: dict[str, object]) -> bool:
        job = self._ledger.job(job_id)
        self.wake.set()
        return job is not None and job.state == "queued"

    async def is_live(self, job_id: str) -> bool:
        job = self._ledger.job(job_id)
        return job is not None and job.state in LIVE

    async def forget(self, job_id: str) -> None:
        return None  # a finished job's row is replaced when the job is submitted again


class InlineRunner:
    """Runs the ledger's queued jobs in this process, one at a time."""

    def __init__(self, runtime: Runtime, queue: InlineQueue) -> None:
        self._runtime = runtime
        self._queue = queue
        self._task: asyncio.Task[None] | None = None
        self.current: str | None = None  # the job running now
        self.holds_lock = False  # this process runs the data directory's jobs

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_when_first(), name="cognition-inline-jobs")

    async def _run_when_first(self) -> None:
        """Wait to be the data directory's one runner, then run jobs until stopped."""
        path = self._runtime.paths.locks / "inline-runner.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not _try_lock(handle):
                await asyncio.sleep(IDLE_SECONDS)
            self.holds_lock = True
            requeued = self._runtime.ledger.requeue_running_jobs()
            if requeued:
                log.warning("%d job(s) were running when the last runner stopped: queued again", requeued)
            await self._loop()
        finally:
            self.holds_lock = False
            os.close(handle)  # releases the lock

    async def stop(self) -> None:
        """Stop taking jobs; the one running is cancelled and will run again at next start."""
        await cancel(self._task)
        self._task = None

    async def _loop(self) -> None:
        ledger = self._runtime.ledger
        while True:
            self._queue.wake.clear()
            job = ledger.take_next_job(time.time())
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._queue.wake.wait(), timeout=self._idle())
                continue
            await self._run(job)

    def _idle(self) -> float:
        """Until the next retried job is due, at most ``IDLE_SECONDS``."""
        due = [j.not_before for j in self._runtime.ledger.jobs(states=("queued",), limit=50)]
        soonest = min(due, default=time.time() + IDLE_SECONDS)
        return min(max(soonest - time.time(), 0.05), IDLE_SECONDS)

    async def _run(self, job: JobRecord) -> None:
        ledger, tries = self._runtime.ledger, self._runtime.settings.queue.max_tries
        if job.attempts > tries:
            reason = f"gave up after {job.attempts - 1} attempts: the server stopped during each"
            ledger.update_job(job.job_id, state="failed", error=reason, finished_at=time.time())
            if job.doc_id:
                ledger.set_state(job.dataset, job.doc_id, "failed", permanent=0, error=reason)
            return
        body = {"file": run_file_job, "crawl": run_crawl_job, "audit": run_audit_job}[job.kind]
        self.current = job.job_id
        try:
            with log_context(job_id=job.job_id, job_try=str(job.attempts)):
                await body(self._runtime, job.arguments, job.attempts, job.job_id)
        except RetryLater:
            pass  # recorded on the job's row, which waits until its not_before
        except Exception as exc:  # a bug in a job body: the job fails alone, the runner goes on
            log.exception("job %s failed", job.job_id)
            ledger.update_job(
                job.job_id, state="failed", error=f"{type(exc).__name__}: {exc}", finished_at=time.time()
            )
        finally:
            self.current = None


async def run_here(runtime: Runtime, job_ids: list[str]) -> bool:
    """Run these queued jobs in this process now, as the runner runs them, if no runner holds
    the data directory's lock (a command without Redis and without a server); False if one
    does: that runner will run them."""
    path = runtime.paths.locks / "inline-runner.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(handle):
            return False
        runner, ledger = InlineRunner(runtime, InlineQueue(runtime.ledger)), runtime.ledger
        for job_id in job_ids:
            job = ledger.job(job_id)
            if job is not None and job.state == "queued":
                job.attempts += 1
                ledger.update_job(job_id, state="running", attempts=job.attempts, started_at=time.time())
                await runner._run(job)
        return True
    finally:
        os.close(handle)


def _try_lock(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
