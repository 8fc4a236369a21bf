"""Audits and repairs on the Neo4j backend, as on Ladybug (``test_audit``, ``test_repairs``):
planted defects are listed exactly, applying the repairs fixes them, and a merge keeps every
mention and relation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from cognition.audit import audit_dataset
from cognition.datasets import chunk_id, entity_id
from cognition.runtime import Runtime
from ingest.repairs import apply_repairs, plan_repairs
from tests.integration.test_audit import _add_stray_vector, _imported, _write_entities
from tests.integration.test_neo4j_isolation import _cypher
from tests.integration.test_repairs import CHECK_OF, _planned, _submitter, _synthetic


async def _chunk_table(runtime: Runtime, dataset: str) -> Any:
    """The dataset's chunk vectors, opened with LanceDB directly."""
    import lancedb

    db = await lancedb.connect_async(str(runtime.paths.root / "vectors" / dataset))
    return await db.open_table("Chunk_text")


async def test_planted_defects_are_listed_and_repaired_on_neo4j(
    neo4j_runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    runtime = neo4j_runtime
    dataset = await _imported(runtime, excerpts["git_objects"], "neo4j-repair")
    [doc] = runtime.ledger.documents(dataset)
    doc_id = doc.doc_id
    orphan = "zzneo4jorphan"
    await _write_entities(runtime, dataset, doc, [orphan], mentioned_by=chunk_id(doc_id, 0), mentioned=())
    table = await _chunk_table(runtime, dataset)
    lost = chunk_id(doc_id, 1)
    await table.delete(f"id = '{lost}'")
    stray = str(uuid.uuid4())
    await _add_stray_vector(table, stray)
    await _cypher(  # a document → chunk "mentions": the wrong shape
        runtime,
        "MATCH (a:Node {dataset: $d, id: $a}), (b:Node {dataset: $d, id: $b}) "
        "CREATE (a)-[:EDGE {dataset: $d, name: 'mentions', document_id: $a}]->(b)",
        d=dataset,
        a=doc_id,
        b=chunk_id(doc_id, 0),
    )
    planted = {"orphans": [entity_id(dataset, orphan)], "vectors": [lost], "stray": [stray]}
    kinds = list(planted)

    audit = await audit_dataset(runtime, dataset)
    dry = await plan_repairs(runtime, dataset, kinds)
    done = await apply_repairs(runtime, _submitter(runtime), dataset, kinds)
    after = await audit_dataset(runtime, dataset)

    assert {kind: audit.check(CHECK_OF[kind]).offenders for kind in kinds} == planted
    assert audit.check("dangling_edges").offenders == [f"{doc_id} -mentions-> {chunk_id(doc_id, 0)}"]
    assert audit.check("isolation").offenders == []
    assert {kind: _planned(dry, kind) for kind in kinds} == planted
    assert {kind: _planned(done, kind) for kind in kinds} == planted
    for kind in kinds:
        assert (after.check(CHECK_OF[kind]).status, after.check(CHECK_OF[kind]).offenders) == ("ok", []), kind
    [restored] = await runtime.store.get_chunks(dataset, [lost])
    assert restored.document_title == "Git objects" and restored.text
    table = await _chunk_table(runtime, dataset)
    assert await table.count_rows(f"id = '{lost}'") == 1 and await table.count_rows(f"id = '{stray}'") == 0


async def test_merging_a_duplicate_pair_on_neo4j_keeps_every_mention_and_relation(
    neo4j_runtime: Runtime,
) -> None:
    runtime = neo4j_runtime
    dataset, doc = await _synthetic(runtime)
    kept, dropped = entity_id(dataset, "quuxframe"), entity_id(dataset, "quuxfrane")
    before = await runtime.store.counts(dataset)

    await apply_repairs(runtime, _submitter(runtime), dataset, ["duplicates"])

    after = await runtime.store.counts(dataset)
    assert after.nodes["Entity"] == before.nodes["Entity"] - 1
    assert (before.edges["mentions"], after.edges["mentions"]) == (5, 4)
    assert (before.edges["uses"], after.edges["uses"]) == (5, 2)
    chunks = {c.id for c in await runtime.store.chunks_mentioning(dataset, kept, 10)}
    assert chunks == {chunk_id(doc, i) for i in range(4)}
    related = {
        (n.entity.key, n.relation, n.weight) for n in await runtime.store.neighbours(dataset, kept, 10)
    }
    assert related == {("widget", "uses", 2.0), ("gadget", "uses", 4.0)}
    assert await runtime.store.get_entities(dataset, [dropped]) == []
