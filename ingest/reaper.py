"""The reaper: documents left "in progress" by a job that no longer exists fail, with why."""

from __future__ import annotations

from cognition.ledger import DocumentRecord, Ledger
from ingest.jobs import JobQueue


async def reap(ledger: Ledger, queue: JobQueue, older_than: float, now: float) -> list[DocumentRecord]:
    """Fail queued documents whose job is gone (its worker died on the last try, or the
    queue lost it), so no document stays "in progress" forever. Returns what was reaped."""
    reaped = []
    for record in ledger.queued_in_flight():
        if record.updated_at > now - older_than or record.job_id is None:
            continue
        if await queue.is_live(record.job_id):
            continue
        reason = (
            f"abandoned in state {record.state}: no worker holds its job any more (the worker "
            "died and retries ran out, or the queue lost it); submit it again"
        )
        ledger.set_state(record.dataset, record.doc_id, "failed", permanent=0, error=reason)
        ledger.update_job(record.job_id, state="failed", error=reason, finished_at=now)  # its status too
        reaped.append(record)
    return reaped
