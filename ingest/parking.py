"""Parking: a job whose provider cannot be called yet waits, without using up its tries.

A provider out of quota for the day (``QuotaParked``) or behind an open circuit breaker
(``CircuitOpen``) says until when no call can succeed. The job goes back to the queue until
then (Arq's ``Retry(defer=…)``, the inline runner's ``not_before``), its ledger row and its
document's saying ``parked until <time>: <why>``; the attempt is given back (the row's
``attempts`` goes down by one and ``parks`` up by one: Arq counts every run in ``job_try``,
so its tasks subtract the parks, ``attempt_of``). A job wakes at least every
``queue.max_park_seconds`` (it parks again at once, without a call, if it is still too
early) and fails after ``queue.max_parks`` parks. A ``QuotaTerminal`` (zero quota, billing,
a refused key) fails the job at once, not retried, with what to do.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from cognition.governor.errors import CircuitOpen, QuotaParked, QuotaTerminal
from cognition.ledger import Ledger
from cognition.settings import QueueSettings

PROVIDER_STOPS = (QuotaParked, CircuitOpen, QuotaTerminal)


class RetryLater(Exception):
    """A transient failure: run the job again after ``delay`` seconds. ``parked``: the
    provider could not be called before then; the attempt did not count."""

    def __init__(self, delay: float, reason: str, parked: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.parked = parked


def park(
    ledger: Ledger,
    job_id: str | None,
    attempt: int,
    exc: QuotaParked | CircuitOpen | QuotaTerminal,
    policy: QueueSettings,
) -> RetryLater | str:
    """The job parked (its ``RetryLater``, recorded on its row), or why it fails now."""
    if isinstance(exc, QuotaTerminal):
        return stopped(exc)
    job = ledger.job(job_id) if job_id else None
    parks = job.parks if job is not None else 0
    if parks >= policy.max_parks:
        return f"gave up after {parks} parks: {exc}"
    now = time.time()
    delay = park_delay(exc.until, now, policy)
    when = datetime.fromtimestamp(exc.until, UTC).isoformat(timespec="seconds")
    note = f"parked until {when} (the job looks again in {delay:.0f} s): {exc}"
    if job_id:
        ledger.update_job(
            job_id,
            state="queued",
            error=note,
            not_before=now + delay,
            parks=parks + 1,
            attempts=max(0, attempt - 1),
        )
    return RetryLater(delay, note, parked=True)


def park_delay(until: float, now: float, policy: QueueSettings) -> float:
    """Seconds a parked job waits: until the provider may be called, but at most
    ``max_park_seconds`` (a job that wakes early parks again without a call)."""
    return min(max(until - now, min(1.0, policy.max_park_seconds)), policy.max_park_seconds)


def stopped(exc: QuotaTerminal) -> str:
    """A terminal provider error as the job's report: what happened and what to do."""
    return (
        f"stopped, not retried: {exc}. Fix the key's quota or billing in the provider's console "
        "(or set another key in COGNITION_GEMINI__API_KEY), then submit the document again"
    )


def attempt_of(ledger: Ledger, job_id: str, tries: int) -> int:
    """The attempt that a queue's ``tries``-th run of a job is: its parks do not count."""
    job = ledger.job(job_id)
    return max(1, tries - (job.parks if job is not None else 0))


def worn_out(ledger: Ledger, job_id: str, attempt: int, policy: QueueSettings) -> dict[str, object] | None:
    """Fail a job about to run its attempt ``policy.max_tries + 1`` (its worker stopped
    during each: the queue's own count of tries is larger by the parks), and say why; None
    if it may run. Its document fails with it, as the inline runner's does."""
    if attempt <= policy.max_tries:
        return None
    reason = f"gave up after {attempt - 1} attempts: the worker stopped during each"
    job = ledger.job(job_id)
    ledger.update_job(job_id, state="failed", error=reason, finished_at=time.time())
    if job is not None and job.doc_id:
        ledger.set_state(job.dataset, job.doc_id, "failed", permanent=0, error=reason)
    return {"failed": [{"path": job.source if job else "", "reason": reason}]}
