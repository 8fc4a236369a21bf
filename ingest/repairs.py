"""Repairs as every entry point runs them: the store's (``cognition.audit.repairs``) and
requeueing failed documents, which goes through the job queue like any submission.

``plan_repairs`` reads and records a dry run; ``apply_repairs`` plans afresh, applies, and
records what changed. Failed documents are resubmitted with the ``Submitter`` the API and
``cognition import --queue`` use (the same job ids, conflict answers and job bodies); a
document that cannot be resubmitted (its file is gone, a crawled page) is listed as skipped,
with why. A failed row whose file now has other content (another document id), or which
recorded a rejected submission, gives way to the new submission's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cognition.audit.repairs import (
    STORE_KINDS,
    Change,
    Repair,
    RepairRun,
    apply_store,
    new_run,
    plan_store,
    record,
)
from cognition.errors import CognitionError
from cognition.ledger import DocumentRecord
from cognition.paths import import_roots
from cognition.runtime import Runtime
from ingest.catalog import require_dataset
from ingest.job_checks import KINDS as FILE_KINDS
from ingest.job_checks import RefusedJob, within_roots
from ingest.jobs import Accepted, Conflict, Submitter

KINDS = (*STORE_KINDS, "failed")


class RepairKindError(CognitionError):
    def __init__(self, unknown: Sequence[str]) -> None:
        super().__init__(f"unknown repair kind {', '.join(map(repr, unknown))}: use {', '.join(KINDS)}")


# Duplicate candidates come from a heuristic (names one edit or one acronym apart): on a real
# book most are distinct names ("linus" / "linux", "apple" / "apply"). Merging is never part
# of "all": it is asked for by name, best with the pairs a person chose from the dry run.
DEFAULT_KINDS = tuple(k for k in KINDS if k != "duplicates")


def repair_kinds(only: Sequence[str] | None) -> list[str]:
    """The kinds asked for, in their order of application (all but ``duplicates`` when none
    is named)."""
    unknown = [k for k in only or () if k not in KINDS]
    if unknown:
        raise RepairKindError(unknown)
    return [k for k in KINDS if k in only] if only else list(DEFAULT_KINDS)


async def plan_repairs(
    runtime: Runtime, dataset: str, only: Sequence[str] | None = None, pairs: Sequence[str] | None = None
) -> RepairRun:
    """What a repair of ``dataset`` would change; recorded as a dry run, nothing else written."""
    run = new_run(dataset, dry_run=True)
    run.repairs = await _plans(runtime, dataset, repair_kinds(only), pairs)
    record(runtime.ledger, run)
    return run


async def apply_repairs(
    runtime: Runtime,
    submitter: Submitter,
    dataset: str,
    only: Sequence[str] | None = None,
    pairs: Sequence[str] | None = None,
) -> RepairRun:
    """Plan afresh and apply: the store's repairs under the write gate, then the requeues.
    ``pairs`` (``kept<-dropped`` ids, as a dry run lists them) limits the merges to those.
    The run says what changed and what was skipped, and is recorded."""
    plans = await _plans(runtime, dataset, repair_kinds(only), pairs)
    run = new_run(dataset, dry_run=False)
    store_plans = [p for p in plans if p.kind in STORE_KINDS]
    if store_plans:
        run.repairs += await apply_store(runtime, dataset, store_plans)
    for plan in plans:
        if plan.kind == "failed":
            run.repairs.append(await _requeue(runtime, submitter, run, plan))
    record(runtime.ledger, run)
    return run


async def _plans(
    runtime: Runtime, dataset: str, kinds: list[str], pairs: Sequence[str] | None
) -> list[Repair]:
    require_dataset(runtime.ledger, dataset)
    limit = runtime.settings.audit.max_offenders
    store_kinds = [k for k in kinds if k in STORE_KINDS]
    plans: list[Repair] = []
    if store_kinds and await runtime.store.dataset_exists(dataset):
        plans += [
            _chosen(p, pairs) if p.kind == "duplicates" and pairs is not None else p
            for p in await plan_store(runtime, dataset, store_kinds, limit)
        ]
    elif store_kinds:  # nothing stored yet: nothing to repair there
        plans += [Repair(kind) for kind in store_kinds]
    if "failed" in kinds:
        rows = runtime.ledger.documents(dataset, state="failed")
        plans.append(_plan_requeue(rows, import_roots(runtime.settings), limit))
    return plans


def _chosen(plan: Repair, pairs: Sequence[str]) -> Repair:
    """The merges among ``pairs``; the other candidates are left, and a pair asked for that
    is no candidate (any more) is said so."""
    wanted = set(pairs)
    planned = {c.id for c in plan.changes} | {c.id for c in plan.skipped}
    return Repair(
        plan.kind,
        plan.found,
        [c for c in plan.changes if c.id in wanted],
        [c for c in plan.skipped if c.id in wanted]
        + [Change(c.id, "not among the pairs asked for") for c in plan.changes if c.id not in wanted]
        + [Change(p, "not a duplicate candidate pair now") for p in pairs if p not in planned],
    )


def _plan_requeue(rows: list[DocumentRecord], roots: Sequence[Path], limit: int) -> Repair:
    repair = Repair("failed", len(rows))
    for row in rows[:limit]:
        why_not = _cannot_requeue(row, roots)
        if why_not:
            repair.skipped.append(Change(row.doc_id, why_not))
        else:
            reason = (row.error or "no reason recorded").splitlines()[0][:160]
            repair.changes.append(Change(row.doc_id, f"requeue {row.source} (failed: {reason})"))
    return repair


def _cannot_requeue(row: DocumentRecord, roots: Sequence[Path]) -> str | None:
    """Why the queue would not take the document (a submission it rejects would record one
    more failed row), or None."""
    if row.kind not in FILE_KINDS:
        return f"a {row.kind} document: import or crawl its source again"
    if not Path(row.source).is_file():
        return f"its file is gone: {row.source}"
    try:
        within_roots(row.source, roots)
    except RefusedJob as exc:
        return f"{exc} (or run `cognition import` on it)"
    return None


async def _requeue(runtime: Runtime, submitter: Submitter, run: RepairRun, plan: Repair) -> Repair:
    ledger, dataset = runtime.ledger, run.dataset
    done = Repair("failed", plan.found, skipped=list(plan.skipped))
    for change in plan.changes:
        row = ledger.get(dataset, change.id)
        if row is None or row.state != "failed":
            done.skipped.append(Change(change.id, "no longer failed"))
            continue
        result = await submitter.submit_file(dataset, Path(row.source), row.kind)
        if isinstance(result, Accepted):
            if result.doc_id != row.doc_id:  # a rejection, or the file's content changed
                ledger.delete(dataset, row.doc_id)
            done.changes.append(Change(change.id, f"requeued {row.source} as job {result.job_id}"))
            run.jobs.append(result.job_id)
        elif isinstance(result, Conflict):
            done.skipped.append(
                Change(change.id, f"{result.reason}: document {result.doc_id} is {result.state}")
            )
        else:
            done.skipped.append(Change(change.id, f"rejected: {result.reason}"))
    return done
