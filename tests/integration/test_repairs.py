"""Repairs: defects planted through the project's own store, ledger and LanceDB are listed
exactly by a dry run (which changes nothing), fixed by applying it (a second audit is clean
on that check), merges keep every mention and relation, and a failed document requeued
through the job path ends stored. Every run is recorded in the ledger."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from cognition.audit import audit_dataset
from cognition.datasets import chunk_id, document_id, entity_id
from cognition.ledger import DocumentRecord, Failure
from cognition.paths import import_roots
from cognition.runtime import Runtime
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode
from ingest.inline import InlineQueue, run_here
from ingest.jobs import Submitter
from ingest.pdf import sha256_file
from ingest.pipeline import PIPELINE_VERSION
from ingest.repairs import apply_repairs, plan_repairs
from tests.integration.test_audit import _add_stray_vector, _chunk_table, _imported, _write_entities

CHECK_OF = {
    "orphans": "orphan_entities",
    "vectors": "chunks_without_vector",
    "stray": "vectors_without_chunk",
}


def _submitter(runtime: Runtime) -> Submitter:
    return Submitter(runtime.ledger, InlineQueue(runtime.ledger), import_roots(runtime.settings))


def _planned(run: object, kind: str) -> list[str]:
    found = next(r for r in run.repairs if r.kind == kind)  # type: ignore[attr-defined]
    return [c.id for c in found.changes]


async def test_dry_run_lists_the_planted_defects_and_apply_fixes_them(
    runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "repair-store")
    [doc] = runtime.ledger.documents(dataset)
    orphan = "zzrepairorphan"
    await _write_entities(runtime, dataset, doc, [orphan], mentioned_by=chunk_id(doc.doc_id, 0), mentioned=())
    table = await _chunk_table(runtime, dataset)
    lost = chunk_id(doc.doc_id, 1)
    await table.delete(f"id = '{lost}'")
    stray = str(uuid.uuid4())
    await _add_stray_vector(table, stray)
    planted = {"orphans": [entity_id(dataset, orphan)], "vectors": [lost], "stray": [stray]}
    kinds = list(planted)

    dry = await plan_repairs(runtime, dataset, kinds)

    assert {kind: _planned(dry, kind) for kind in kinds} == planted
    assert dry.dry_run and all(r.skipped == [] for r in dry.repairs)
    vectors = next(r for r in dry.repairs if r.kind == "vectors").changes[0].change
    assert vectors.startswith("embed chunk of 'Git objects', p. ")
    still = await audit_dataset(runtime, dataset)
    assert {kind: still.check(CHECK_OF[kind]).offenders for kind in kinds} == planted

    done = await apply_repairs(runtime, _submitter(runtime), dataset, kinds)

    assert {kind: _planned(done, kind) for kind in kinds} == planted and not done.dry_run
    after = await audit_dataset(runtime, dataset)
    for kind in kinds:
        check = after.check(CHECK_OF[kind])
        assert (check.status, check.offenders) == ("ok", []), kind
    table = await _chunk_table(runtime, dataset)  # opened again: a table handle keeps its version
    assert await table.count_rows(f"id = '{lost}'") == 1 and await table.count_rows(f"id = '{stray}'") == 0
    [restored] = await runtime.store.get_chunks(dataset, [lost])
    assert restored.document_title == "Git objects" and restored.text
    recorded = runtime.ledger.repairs(dataset)
    assert sorted((r.kind, r.dry_run, r.count) for r in recorded) == sorted(
        [(k, True, 1) for k in kinds] + [(k, False, 1) for k in kinds]
    )
    assert (
        next(r for r in recorded if not r.dry_run and r.kind == "stray").details["changes"][0]["id"] == stray
    )

    again = await apply_repairs(runtime, _submitter(runtime), dataset, kinds)  # nothing left to do
    assert all(r.changes == [] and r.found == 0 for r in again.repairs)


async def test_merging_a_duplicate_pair_keeps_every_mention_and_relation(runtime: Runtime) -> None:
    dataset, doc = await _synthetic(runtime)
    kept, dropped = entity_id(dataset, "quuxframe"), entity_id(dataset, "quuxfrane")
    before = await runtime.store.counts(dataset)
    audit = await audit_dataset(runtime, dataset)
    assert audit.check("duplicate_entities").offenders == ["quuxframe ~ quuxfrane"]

    dry = await plan_repairs(runtime, dataset, ["duplicates"])

    assert _planned(dry, "duplicates") == [f"{kept}<-{dropped}"]  # more chunks mention "quuxframe"
    assert (await runtime.store.counts(dataset)) == before

    await apply_repairs(runtime, _submitter(runtime), dataset, ["duplicates"])

    after = await runtime.store.counts(dataset)
    assert after.nodes["Entity"] == before.nodes["Entity"] - 1
    # Chunks 0-2 mention the kept, chunks 2-3 the dropped: chunk 2's second mention folds.
    assert (before.edges["mentions"], after.edges["mentions"]) == (5, 4)
    # dropped → widget moves; the relations between the pair would be loops and go; the
    # relation both had to "gadget" in the same document becomes one, weights summed.
    assert (before.edges["uses"], after.edges["uses"]) == (5, 2)
    chunks = {c.id for c in await runtime.store.chunks_mentioning(dataset, kept, 10)}
    assert chunks == {chunk_id(doc, i) for i in range(4)}
    related = {
        (n.entity.key, n.relation, n.weight) for n in await runtime.store.neighbours(dataset, kept, 10)
    }
    assert related == {("widget", "uses", 2.0), ("gadget", "uses", 4.0)}
    assert await runtime.store.get_entities(dataset, [dropped]) == []
    clean = await audit_dataset(runtime, dataset)
    assert (clean.check("duplicate_entities").status, clean.check("duplicate_entities").offenders) == (
        "ok",
        [],
    )


async def test_merges_are_only_those_asked_for(runtime: Runtime) -> None:
    """Duplicate candidates are a heuristic (on a real book "linus" / "linux"): a repair of
    every kind leaves them, and a merge is made only for the pairs named."""
    dataset, _ = await _synthetic(runtime)
    kept, dropped = entity_id(dataset, "quuxframe"), entity_id(dataset, "quuxfrane")
    pair, backwards = f"{kept}<-{dropped}", f"{dropped}<-{kept}"
    everything = await apply_repairs(runtime, _submitter(runtime), dataset)  # orphans go, the pair stays
    entities = (await runtime.store.counts(dataset)).nodes["Entity"]
    unchosen = await apply_repairs(runtime, _submitter(runtime), dataset, ["duplicates"], [backwards])

    assert [r.kind for r in everything.repairs] == ["orphans", "vectors", "stray", "failed"]
    assert {kept, dropped} <= {e.id for e in await runtime.store.get_entities(dataset, [kept, dropped])}
    [merges] = unchosen.repairs
    assert merges.changes == [] and merges.found == 1
    assert {(c.id, c.change) for c in merges.skipped} == {
        (pair, "not among the pairs asked for"),
        (backwards, "not a duplicate candidate pair now"),
    }
    assert (await runtime.store.counts(dataset)).nodes["Entity"] == entities

    chosen = await apply_repairs(runtime, _submitter(runtime), dataset, ["duplicates"], [pair])

    assert [c.id for c in chosen.repairs[0].changes] == [pair]
    assert (await runtime.store.counts(dataset)).nodes["Entity"] == entities - 1


async def _synthetic(runtime: Runtime) -> tuple[str, str]:
    """A dataset of one document, four chunks and four entities, written through the store
    port with real vectors: chunks 0-2 mention "quuxframe", chunks 2-3 "quuxfrane"."""
    dataset = f"repair-merge-{uuid.uuid4().hex[:8]}"
    runtime.ledger.register_dataset(dataset)
    runtime.claim_embedding(dataset)
    doc = DocumentNode(document_id(dataset, "h"), "Synthetic", "/synthetic.pdf", "h", "pdf", 4)
    texts = ["quuxframe uses gadget", "quuxframe again", "quuxframe and quuxfrane", "quuxfrane uses widget"]
    chunks = [
        ChunkNode(chunk_id(doc.id, i), doc.id, i, t, i + 1, i + 1, None, ()) for i, t in enumerate(texts)
    ]
    ids = {k: entity_id(dataset, k) for k in ("quuxframe", "quuxfrane", "widget", "gadget")}
    a, b, w, g = ids["quuxframe"], ids["quuxfrane"], ids["widget"], ids["gadget"]
    batch = DocumentBatch(
        dataset=dataset,
        document=doc,
        pages=[1, 2, 3, 4],
        chunks=chunks,
        entities=[EntityNode(i, k, k, "term") for k, i in ids.items()],
        mentions=[
            (chunks[0].id, a),
            (chunks[1].id, a),
            (chunks[2].id, a),
            (chunks[2].id, b),
            (chunks[3].id, b),
        ],
        relations=[
            (b, w, "uses", 2.0),
            (a, g, "uses", 1.0),
            (b, g, "uses", 3.0),
            (a, b, "uses", 1.0),
            (b, a, "uses", 1.0),
        ],
        vectors=await runtime.embedder.embed(texts),
    )

    async def groups() -> AsyncIterator[list[DocumentBatch]]:
        yield [batch]

    async with runtime.gate.hold(dataset):
        await runtime.store.write(dataset, groups())
    runtime.ledger.upsert(
        DocumentRecord(dataset, doc.id, doc.source, "h", "pdf", "stored", pages=4, chunks=4)
    )
    return dataset, doc.id


async def test_a_failed_document_is_requeued_and_ends_stored(
    runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = f"repair-failed-{uuid.uuid4().hex[:8]}"
    runtime.ledger.register_dataset(dataset)
    source = excerpts["git_objects"]
    sha = sha256_file(source)
    upload = runtime.paths.uploads / dataset / f"{sha}.pdf"  # where the API keeps uploads
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, upload)
    doc = document_id(dataset, sha)
    reason = "planted: the store was unreachable"
    runtime.ledger.record_failure(
        Failure(dataset, doc, str(upload), sha, "pdf", reason, PIPELINE_VERSION, permanent=False)
    )
    gone = _ledger_failure(runtime, dataset, "/nowhere/gone.pdf")
    outside = _ledger_failure(runtime, dataset, str(excerpts["bash_expansion"]))  # not in an import root

    dry = await plan_repairs(runtime, dataset, ["failed"])

    [failed] = dry.repairs
    assert [(c.id, c.change) for c in failed.changes] == [(doc, f"requeue {upload} (failed: {reason})")]
    skipped = {c.id: c.change for c in failed.skipped}
    assert set(skipped) == {gone, outside} and failed.found == 3
    assert skipped[gone] == "its file is gone: /nowhere/gone.pdf"
    assert "is outside the import roots" in skipped[outside]
    assert runtime.ledger.get(dataset, doc).state == "failed"  # type: ignore[union-attr]

    done = await apply_repairs(runtime, _submitter(runtime), dataset, ["failed"])

    assert [c.id for c in done.repairs[0].changes] == [doc] and len(done.jobs) == 1
    if not await run_here(runtime, done.jobs):  # the session's API server runs them instead
        for _ in range(600):
            if runtime.ledger.get(dataset, doc).state == "stored":  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.2)
    row = runtime.ledger.get(dataset, doc)
    assert row is not None and row.state == "stored" and row.chunks > 0
    assert runtime.ledger.job(done.jobs[0]).state == "done"  # type: ignore[union-attr]
    audit = await audit_dataset(runtime, dataset)
    assert sorted(audit.check("failed_documents").offenders) == sorted([gone, outside])  # no new row


def _ledger_failure(runtime: Runtime, dataset: str, source: str) -> str:
    doc_id = str(uuid.uuid4())
    runtime.ledger.upsert(
        DocumentRecord(dataset, doc_id, source, f"h-{doc_id}", "pdf", "failed", error="gone")
    )
    return doc_id
