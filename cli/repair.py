"""``cognition repair``: say what repairing a dataset would change (the default, a dry run)
or, with ``--apply``, change it; every run is recorded in the ledger.

Requeued documents go to the Arq workers when Redis is configured; otherwise to the
ledger's job queue, and this command runs them itself unless a server already runs that
queue (it then does).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import fail, require_datasets, settings, with_runtime
from cognition.errors import CognitionError

if TYPE_CHECKING:
    from cognition.audit.repairs import RepairRun
    from cognition.runtime import Runtime

_KINDS = "orphans,vectors,stray,duplicates,failed"


def repair_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset to repair")],
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help=f"Comma-separated kinds: {_KINDS} (default: all but duplicates, "
            "whose merges must be asked for)",
        ),
    ] = None,
    pair: Annotated[
        list[str] | None,
        typer.Option("--pair", help="With duplicates: only this merge, KEPT<-DROPPED as a dry run lists it"),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Make the changes (without it: a dry run that changes nothing)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON")] = False,
) -> None:
    """Repair a dataset: orphan entities, chunks without vectors, stray vectors, duplicate
    entities, failed documents. A dry run unless --apply; every run is recorded."""
    from ingest.repairs import repair_kinds

    given = settings()
    try:
        kinds = repair_kinds([k.strip() for k in only.split(",") if k.strip()] if only else None)
    except CognitionError as exc:
        fail(exc)
    require_datasets(given, [dataset])
    try:
        run = with_runtime(lambda runtime: _run(runtime, dataset, kinds, apply, pair), given)
    except CognitionError as exc:
        fail(exc)
    typer.echo(json.dumps(run.to_json()) if as_json else "\n".join(describe(run)))


async def _run(
    runtime: Runtime, dataset: str, kinds: list[str], apply: bool, pairs: list[str] | None
) -> RepairRun:
    from cognition.paths import import_roots
    from ingest.inline import InlineQueue, run_here
    from ingest.jobs import Submitter
    from ingest.repairs import apply_repairs, plan_repairs

    if not apply:
        return await plan_repairs(runtime, dataset, kinds, pairs)
    queue_settings = runtime.settings.queue
    if queue_settings.redis_url is None:
        submitter = Submitter(runtime.ledger, InlineQueue(runtime.ledger), import_roots(runtime.settings))
        run = await apply_repairs(runtime, submitter, dataset, kinds, pairs)
        if run.jobs and await run_here(runtime, run.jobs):
            typer.echo(f"ran {len(run.jobs)} requeued job(s) here", err=True)
        return run
    from workers.queue import ArqQueue, connect

    redis = await connect(queue_settings)
    try:
        submitter = Submitter(runtime.ledger, ArqQueue(redis, queue_settings), import_roots(runtime.settings))
        return await apply_repairs(runtime, submitter, dataset, kinds, pairs)
    finally:
        await redis.aclose()


def describe(run: RepairRun) -> list[str]:
    """The run as a person reads it: per kind, what was found and each change."""
    if run.dry_run:
        lines = [f"dry run: what repairing {run.dataset} would change (nothing changed; --apply does it)"]
    else:
        lines = [f"repaired {run.dataset}"]
    verb = "would change" if run.dry_run else "changed"
    for repair in run.repairs:
        lines.append(f"{repair.kind}: {repair.found} found, {len(repair.changes)} {verb}")
        lines += [f"  {c.id}  {c.change}" for c in repair.changes]
        lines += [f"  skipped {c.id}: {c.change}" for c in repair.skipped]
    if run.jobs:
        lines.append(f"requeued as jobs: {', '.join(run.jobs)}")
    return lines
