"""Repairs of a dataset's stores: plan (pure reads) what the audit finds, apply it on request.

A plan is built from the audit's own offender lists (``Store.audit_facts``, the
``duplicate_entities`` check), at most ``limit`` items per kind, and says per kind exactly
which ids would change and how, in one line each. Applying a plan holds the dataset's write
gate; the store re-checks each defect before it changes anything, so an item that is no
longer a defect is reported as skipped, not changed. What a run would do or did is recorded
in the ledger (``repairs``), dry or not.

Kinds here: ``orphans`` (delete entities no chunk mentions), ``vectors`` (embed chunks that
have no vector, outside the gate, then write their rows), ``stray`` (delete vector rows no
chunk has), ``duplicates`` (merge candidate pairs: the entity more chunks mention is kept,
then the longer name, an acronym's expansion). Requeueing failed documents goes through the
job queue, which the core does not know: ``ingest.repairs`` adds it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cognition.audit.run import duplicates
from cognition.embedding.port import Vectors
from cognition.ledger import Ledger
from cognition.ledger.repairs import RepairRecord
from cognition.runtime import Runtime
from cognition.store.port import EntityInfo, StoredChunk

STORE_KINDS = ("orphans", "vectors", "stray", "duplicates")


@dataclass(frozen=True)
class Change:
    id: str  # the entity, chunk, vector row or document; "kept<-dropped" for a merge
    change: str  # one line a person reads


@dataclass
class Repair:
    """One kind of repair: what the audit found (``found``), and what was (or would be)
    changed; ``skipped`` items are listed with why they were left."""

    kind: str
    found: int = 0
    changes: list[Change] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RepairRun:
    dataset: str
    dry_run: bool
    at: float
    repairs: list[Repair] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # jobs the run queued (requeued documents)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "dry_run": self.dry_run,
            "at": self.at,
            "repairs": [r.to_json() for r in self.repairs],
            "jobs": self.jobs,
        }


def record(ledger: Ledger, run: RepairRun) -> None:
    """One ledger row per kind of the run."""
    for repair in run.repairs:
        details = {
            "found": repair.found,
            "changes": _items(repair.changes),
            "skipped": _items(repair.skipped),
        }
        ledger.add_repair(
            RepairRecord(run.dataset, run.at, repair.kind, run.dry_run, len(repair.changes), details)
        )


def _items(changes: list[Change]) -> list[dict[str, str]]:
    return [asdict(c) for c in changes]


async def plan_store(runtime: Runtime, dataset: str, kinds: list[str], limit: int) -> list[Repair]:
    """What repairing the store kinds among ``kinds`` would change (nothing is written)."""
    store = runtime.store
    facts = await store.audit_facts(dataset, limit)
    plans: dict[str, Repair] = {}
    if "orphans" in kinds:
        found = facts.orphan_entities
        names = {e.id: e.name for e in await store.get_entities(dataset, found.ids)}
        plans["orphans"] = Repair(
            "orphans",
            found.total,
            [Change(i, f"delete entity {names.get(i, '?')!r}: no chunk mentions it") for i in found.ids],
        )
    if "vectors" in kinds:
        found = facts.chunks_without_vector
        chunks = {c.id: c for c in await store.get_chunks(dataset, found.ids)}
        plans["vectors"] = Repair(
            "vectors",
            found.total,
            [Change(i, f"embed chunk {_where(chunks.get(i))} and write its vector") for i in found.ids],
        )
    if "stray" in kinds:
        found = facts.vectors_without_chunk
        plans["stray"] = Repair(
            "stray", found.total, [Change(i, "delete vector row: no chunk has this id") for i in found.ids]
        )
    if "duplicates" in kinds:
        entities = facts.counts.nodes.get("Entity", 0)
        plans["duplicates"] = await _plan_merges(runtime, dataset, entities, limit)
    return [plans[k] for k in STORE_KINDS if k in plans]


def _where(chunk: StoredChunk | None) -> str:
    if chunk is None:
        return "(not found)"
    return f"of {chunk.document_title!r}, p. {chunk.page_start}"


async def _plan_merges(runtime: Runtime, dataset: str, entities: int, limit: int) -> Repair:
    check = await duplicates(runtime.store, dataset, entities, runtime.settings.audit)
    pairs = [(str(a), str(b), str(why)) for a, b, why in check.values["pairs"]][:limit]
    info = {e.id: e for e in await runtime.store.get_entities(dataset, [i for p in pairs for i in p[:2]])}
    repair = Repair("duplicates", check.total)
    dropped: set[str] = set()
    for first, second, why in pairs:
        if first not in info or second not in info:
            continue
        keep, drop = _keeper(info[first], info[second])
        pair = f"{keep.id}<-{drop.id}"
        if {first, second} & dropped:
            repair.skipped.append(Change(pair, "one of the pair is merged into another entity first"))
            continue
        dropped.add(drop.id)
        repair.changes.append(
            Change(pair, f"merge {drop.name!r} into {keep.name!r} ({why}): its edges move to {keep.name!r}")
        )
    return repair


def _keeper(a: EntityInfo, b: EntityInfo) -> tuple[EntityInfo, EntityInfo]:
    """(kept, dropped): the one more chunks mention, then the longer key, then the first."""
    ranked = sorted([a, b], key=lambda e: (-e.chunks, -len(e.key), e.key))
    return ranked[0], ranked[1]


async def apply_store(runtime: Runtime, dataset: str, plans: list[Repair]) -> list[Repair]:
    """Do what ``plans`` say; each kind answers what changed and what was skipped."""
    done = []
    missing = next((p for p in plans if p.kind == "vectors" and p.changes), None)
    prepared = None if missing is None else await _embedded(runtime, dataset, missing)
    async with runtime.gate.hold(dataset):
        for plan in plans:
            if plan.kind == "vectors":
                written = [] if prepared is None else await runtime.store.restore_vectors(dataset, *prepared)
                done.append(_outcome(plan, written, "the chunk is gone"))
            else:
                done.append(await _apply_one(runtime, dataset, plan))
        if any(r.changes for r in done):
            runtime.ledger.bump_version(dataset)  # searchers reload the graph
    return done


async def _embedded(runtime: Runtime, dataset: str, plan: Repair) -> tuple[list[str], Vectors]:
    """The planned chunks that still exist, and their vectors: their text read from the graph
    and embedded before the gate is taken, as an import embeds (with the dataset's model)."""
    runtime.check_embedding(dataset)
    wanted = [c.id for c in plan.changes]
    chunks = {c.id: c for c in await runtime.store.get_chunks(dataset, wanted)}
    ids = [i for i in wanted if i in chunks]
    return ids, await runtime.embedder.embed([chunks[i].text for i in ids], "document")


async def _apply_one(runtime: Runtime, dataset: str, plan: Repair) -> Repair:
    store = runtime.store
    ids = [c.id for c in plan.changes]
    if plan.kind == "orphans":
        return _outcome(plan, await store.delete_orphan_entities(dataset, ids), "a chunk mentions it now")
    if plan.kind == "stray":
        return _outcome(plan, await store.delete_stray_vectors(dataset, ids), "a chunk has this id now")
    merged = []
    for pair in ids:
        keep, drop = pair.split("<-")
        result = await store.merge_entities(dataset, keep, drop)
        if result.merged:
            merged.append(pair)
    return _outcome(plan, merged, "one of the two is no longer an entity")


def _outcome(plan: Repair, changed: list[str], why_not: str) -> Repair:
    done = set(changed)
    return Repair(
        plan.kind,
        plan.found,
        [c for c in plan.changes if c.id in done],
        plan.skipped + [Change(c.id, why_not) for c in plan.changes if c.id not in done],
    )


def new_run(dataset: str, dry_run: bool) -> RepairRun:
    return RepairRun(dataset, dry_run, time.time())
