"""Audits as jobs: submitted (by the API, or by the periodic schedule) and run like imports,
by an Arq worker or by the API server's own runner, so an audit of a large dataset never
holds a request open and never runs beside an import in the same server at once.

A dataset has one audit job id (``audit:<dataset>``): while one is queued or running,
submitting again answers with it; once finished, the next submission runs a new audit.
The audit itself is stored in the ledger (``audits``); the job's result names it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from cognition.audit import audit_datasets
from cognition.datasets import validate_dataset_name
from cognition.errors import CognitionError, DatasetError
from cognition.ledger import JobRecord, Ledger
from cognition.runtime import Runtime
from ingest.background import cancel
from ingest.jobs import Submitter

AUDIT_DATASET = "audit_dataset"
log = logging.getLogger("cognition.audits")


def audit_job_id(dataset: str) -> str:
    return f"audit:{dataset}"


async def submit_audit(submitter: Submitter, dataset: str) -> tuple[str, bool]:
    """Queue an audit of ``dataset``: (its job id, True if queued now; False if one is
    already queued or running, whose id this is)."""
    job_id = audit_job_id(dataset)
    job = JobRecord(job_id, dataset, "audit", dataset, {"dataset": dataset})
    return job_id, await submitter.submit_job(job, AUDIT_DATASET)


def due(ledger: Ledger, every_seconds: float, now: float) -> list[str]:
    """Datasets never audited, or whose latest audit started ``every_seconds`` ago or more."""
    found = []
    for name in ledger.datasets():
        latest = ledger.audits(name, limit=1)
        if not latest or now - latest[0].started_at >= every_seconds:
            found.append(name)
    return found


async def submit_due(submitter: Submitter, ledger: Ledger, every_seconds: float, now: float) -> list[str]:
    """The periodic audit: queue an audit of every dataset that is due; the job ids queued."""
    queued = []
    for dataset in due(ledger, every_seconds, now):
        job_id, accepted = await submit_audit(submitter, dataset)
        if accepted:
            queued.append(job_id)
    if queued:
        log.info("periodic audit: queued %s", ", ".join(queued))
    return queued


async def run_audit_job(
    runtime: Runtime, arguments: Mapping[str, object], attempt: int, job_id: str | None = None
) -> dict[str, object]:
    """The body of an ``audit_dataset`` job. Its one argument, the dataset, is checked (a
    job is untrusted input): an invalid or unknown dataset ends the job as failed with the
    reason. An audit is not retried: a failed one says why, and the next is one submission
    (or one period) away. The audit is stored; the job's result is its id and status."""
    ledger = runtime.ledger
    if job_id:
        ledger.update_job(job_id, state="running", attempts=attempt, started_at=time.time(), error=None)
    dataset = arguments.get("dataset")
    try:
        dataset = _checked(arguments)
        if ledger.dataset(dataset) is None:  # deleted since, or never made
            raise DatasetError(f"no dataset named {dataset!r}")
        audit = (await audit_datasets(runtime, [dataset]))[0]
    except CognitionError as exc:
        reason = f"refused: {exc}"
        return _finish(ledger, job_id, {"refused": reason}, reason)
    except Exception as exc:  # the store failed under the audit: this run fails, the next may not
        log.exception("audit of %s failed", dataset)
        return _finish(ledger, job_id, {"failed": str(exc)}, f"{type(exc).__name__}: {exc}")
    result: dict[str, object] = {
        "dataset": dataset,
        "audit_id": audit.id,
        "status": audit.status,
        "checks": {c.name: c.status for c in audit.checks},
    }
    return _finish(ledger, job_id, result, None)


def _checked(arguments: Mapping[str, object]) -> str:
    unexpected = sorted(set(arguments) - {"dataset"})
    if unexpected:
        raise DatasetError(f"unexpected arguments: {', '.join(unexpected)}")
    dataset = arguments.get("dataset")
    if dataset is None:
        raise DatasetError("missing argument: dataset")
    if not isinstance(dataset, str):
        raise DatasetError(f"dataset must be a string, not {type(dataset).__name__}")
    validate_dataset_name(dataset)
    return dataset


def _finish(
    ledger: Ledger, job_id: str | None, result: dict[str, object], error: str | None
) -> dict[str, object]:
    if job_id:
        state = "failed" if error else "done"
        ledger.update_job(job_id, state=state, result=result, error=error, finished_at=time.time())
    return result


class PeriodicAudits:
    """The periodic audit in a process without Arq's cron (the API server without Redis):
    every ``min(every, 60)`` seconds, queue the audits that are due."""

    def __init__(self, submitter: Submitter, ledger: Ledger, every_seconds: float) -> None:
        self._submitter, self._ledger, self._every = submitter, ledger, every_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="cognition-periodic-audits")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await submit_due(self._submitter, self._ledger, self._every, time.time())
            except Exception:  # a ledger hiccup must not end the schedule
                log.exception("periodic audit: could not queue the due audits")
            await asyncio.sleep(min(self._every, 60.0))
