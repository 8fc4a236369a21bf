"""Audits: a clean import of a real excerpt audits ok on every check; defects planted
through the project's own store, ledger and LanceDB are each found exactly, and nothing
else changes; audits are stored in the ledger."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cognition.audit import audit_dataset, audit_datasets
from cognition.datasets import chunk_id, entity_id
from cognition.ledger import DocumentRecord
from cognition.runtime import Runtime
from cognition.store.port import DocumentBatch, DocumentNode, EntityNode
from ingest.importer import Importer
from tests.helpers import new_dataset_name

PLANTED = {
    "orphan_entities",
    "chunks_without_vector",
    "vectors_without_chunk",
    "ledger_not_in_store",
    "stuck_documents",
    "duplicate_entities",
    "dangling_edges",
    "stale_pages",
    "coverage",
}


async def _imported(runtime: Runtime, excerpt: Path, hint: str) -> str:
    dataset = new_dataset_name(hint)
    summary = await Importer(runtime).import_paths([excerpt], dataset)
    assert summary.to_json()["added"] == 1
    return dataset


async def test_a_clean_import_audits_ok_on_every_check(runtime: Runtime, excerpts: dict[str, Path]) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "audit-clean")

    [audit] = await audit_datasets(runtime, [dataset])

    assert {c.name: c.status for c in audit.checks if c.status != "ok"} == {}
    assert audit.status == "ok"
    clean = {"isolation", "documents_without_chunks", "components"}
    for name in PLANTED - {"duplicate_entities"} | clean:
        assert audit.check(name).offenders == [], name
    counts = audit.check("counts").values
    assert counts["nodes"]["Document"] == 1 and counts["nodes"]["Chunk"] == counts["vectors"]["Chunk_text"]
    assert audit.check("degrees").values["max"] > 0
    assert counts["bytes"]["graph"] > 0 and counts["bytes"]["vectors"] > 0
    assert audit.check("components").values["count"] == 1
    [(_, covered, pages, share, *_)] = audit.check("coverage").values["documents"]
    assert covered == pages > 0 and share == 1.0
    stored = runtime.ledger.audits(dataset)
    assert [(r.status, len(r.checks)) for r in stored] == [("ok", len(audit.checks))]


async def test_planted_defects_are_each_found_exactly(runtime: Runtime, excerpts: dict[str, Path]) -> None:
    dataset = await _imported(runtime, excerpts["bash_expansion"], "audit-defects")
    [before] = await audit_datasets(runtime, [dataset])  # stored: the next audit counts growth
    [doc] = runtime.ledger.documents(dataset)
    first_chunk, second_chunk = chunk_id(doc.doc_id, 0), chunk_id(doc.doc_id, 1)

    orphan, near = "zzorphanentity", ("quuxframe", "quuxfrane")
    await _write_entities(runtime, dataset, doc, [orphan, *near], mentioned_by=first_chunk, mentioned=near)
    table = await _chunk_table(runtime, dataset)
    await table.delete(f"id = '{second_chunk}'")
    stray = str(uuid.uuid4())
    await _add_stray_vector(table, stray)
    ghost = _ledger_row(runtime, dataset, "stored")
    stuck = _ledger_row(runtime, dataset, "storing")
    runtime.ledger.update(dataset, stuck, updated_at=time.time() - 2 * runtime.settings.audit.stuck_seconds)
    # The document's ledger row says it is an old crawl of ten times its pages: stale, and
    # nine pages in ten without text.
    old = time.time() - 2 * runtime.settings.audit.stale_seconds
    runtime.ledger.update(dataset, doc.doc_id, fetched_at=old, pages=10 * doc.pages)
    await _write_edge(runtime, dataset, doc.doc_id, "mentions", first_chunk)  # document → chunk

    after = await audit_dataset(runtime, dataset)

    assert after.check("orphan_entities").offenders == [entity_id(dataset, orphan)]
    assert after.check("chunks_without_vector").offenders == [second_chunk]
    assert after.check("vectors_without_chunk").offenders == [stray]
    assert after.check("ledger_not_in_store").offenders == [ghost]
    assert after.check("stuck_documents").offenders == [stuck]
    assert after.check("dangling_edges").offenders == [f"{doc.doc_id} -mentions-> {first_chunk}"]
    assert after.check("stale_pages").offenders == [doc.doc_id]
    assert after.check("stale_pages").values["reasons"][doc.doc_id].endswith("fetched 60.0 days ago")
    assert after.check("coverage").offenders == [doc.doc_id]
    assert after.check("coverage").status == "critical"
    # The orphan is a component of its own, outside the one holding the book's entities.
    components = after.check("components")
    assert components.values["count"] == before.check("components").values["count"] + 1
    assert components.offenders == [entity_id(dataset, orphan)] and components.status == "ok"
    growth = after.check("counts").values["growth"]
    assert (growth["nodes"], growth["edges"]) == (3, 3) and isinstance(growth["bytes"], int)
    new_pairs = set(after.check("duplicate_entities").offenders) - set(
        before.check("duplicate_entities").offenders
    )
    assert new_pairs == {"quuxframe ~ quuxfrane"}
    for name in PLANTED - {"duplicate_entities"}:
        assert after.check(name).status != "ok", name
    unchanged = {c.name: c.status for c in before.checks if c.name not in PLANTED}
    assert {name: after.check(name).status for name in unchanged} == unchanged
    assert after.status == "critical"


async def _write_entities(
    runtime: Runtime,
    dataset: str,
    doc: DocumentRecord,
    keys: list[str],
    mentioned_by: str,
    mentioned: tuple[str, ...],
) -> None:
    """Entities added to a stored document through the store port (no new document node:
    its id is known), mentioned by one of its chunks or by none."""
    node = DocumentNode(doc.doc_id, doc.title or "", doc.source, doc.content_hash, doc.kind, doc.pages)
    batch = DocumentBatch(
        dataset=dataset,
        document=node,
        entities=[EntityNode(entity_id(dataset, key), key, key, "term") for key in keys],
        mentions=[(mentioned_by, entity_id(dataset, key)) for key in mentioned],
    )

    async def groups() -> AsyncIterator[list[DocumentBatch]]:
        yield [batch]

    async with runtime.gate.hold(dataset):
        await runtime.store.write(dataset, groups())


async def _write_edge(runtime: Runtime, dataset: str, source: str, name: str, target: str) -> None:
    """An edge written with the dataset's graph engine directly, as nothing in the project
    would write it."""
    store: Any = runtime.store
    async with runtime.gate.hold(dataset):
        try:
            async with store._context(dataset) as (graph, _):
                await graph.query(
                    "MATCH (a:Node {id: $a}), (b:Node {id: $b}) "
                    "CREATE (a)-[:EDGE {relationship_name: $name, properties: '{}'}]->(b)",
                    {"a": source, "b": target, "name": name},
                )
        finally:
            await store._release(dataset)


async def _chunk_table(runtime: Runtime, dataset: str) -> Any:
    """The dataset's chunk vectors, opened with LanceDB directly (the one table that holds
    this dataset's first chunk)."""
    import lancedb

    [doc] = runtime.ledger.documents(dataset)
    wanted = chunk_id(doc.doc_id, 0)
    for path in sorted(runtime.paths.cognee.rglob("*.lance.db")):
        db = await lancedb.connect_async(str(path))
        if "Chunk_text" in await db.table_names():
            table = await db.open_table("Chunk_text")
            if await table.count_rows(f"id = '{wanted}'"):
                return table
    raise AssertionError(f"no vector table holds {wanted}")


async def _add_stray_vector(table: Any, stray: str) -> None:
    """A copy of one row under an id no chunk has."""
    import pyarrow as pa

    row = await table.query().limit(1).to_arrow()
    await table.add(row.set_column(0, "id", pa.array([stray], pa.string())))


def _ledger_row(runtime: Runtime, dataset: str, state: str) -> str:
    doc_id = str(uuid.uuid4())
    runtime.ledger.upsert(
        DocumentRecord(dataset, doc_id, f"/ghost/{doc_id}.pdf", f"hash-{doc_id}", "pdf", state, pages=3)
    )
    return doc_id
