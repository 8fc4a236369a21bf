"""The audit benchmark's input is known-good: the synthetic generator (``bench.synthetic``)
writes, through the project's own store and ledger, exactly the nodes, edges and vectors it
reports, in the proportions of a book import, and the dataset audits ok on every check."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.synthetic import MENTIONS_PER_CHUNK, Plan, generate
from cognition.audit import audit_dataset
from cognition.datasets import chunk_id, entity_id
from cognition.runtime import Runtime
from cognition.store.cognee import audit
from cognition.store.port import DocumentBatch, DocumentNode, EntityNode
from tests.helpers import new_dataset_name


async def test_a_small_synthetic_dataset_has_its_counts_and_audits_clean(runtime: Runtime) -> None:
    dataset = new_dataset_name("synthetic")
    plan = Plan.for_nodes(dataset, 2000, runtime.embedder.dimensions)

    tally = await generate(plan, runtime.store, runtime.ledger, runtime.gate)
    audit = await audit_dataset(runtime, dataset)

    counts = audit.check("counts").values
    assert counts["nodes"] == dict(tally.nodes)
    assert counts["edges"] == dict(tally.edges)
    assert sum(counts["vectors"].values()) == tally.vectors == tally.nodes["Chunk"] == plan.chunks
    assert 1950 <= sum(tally.nodes.values()) <= 2100  # 2,000 asked, plus the shared hub entities
    chunks = tally.nodes["Chunk"]
    assert 7 <= tally.nodes["Entity"] / chunks <= 9  # 7.65 in the books
    assert (MENTIONS_PER_CHUNK - 1) * chunks <= tally.edges["mentions"] <= MENTIONS_PER_CHUNK * chunks
    assert 50 <= sum(tally.edges.values()) / chunks <= 65  # 60 in the books
    assert {c.name: c.status for c in audit.checks if c.status != "ok"} == {}
    rows = runtime.ledger.documents(dataset)
    assert [(r.state, r.chunks) for r in rows] == [("stored", chunks)]


async def test_isolation_degrees_and_entity_keys_read_every_range_of_a_scan(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Node fields and degrees are read by ranges of node offsets: a foreign entity is found
    wherever it lies, a key with quotes, a backslash and an accent reads back exactly (its id
    derived from it, so it is not foreign), and degrees and hubs merged over ranges are
    those of one range."""
    monkeypatch.setattr(audit, "SPAN", 300)  # the dataset's ~1,000 nodes span four ranges
    dataset = new_dataset_name("synthetic-scan")
    await generate(
        Plan.for_nodes(dataset, 1000, runtime.embedder.dimensions),
        runtime.store,
        runtime.ledger,
        runtime.gate,
    )
    [row] = runtime.ledger.documents(dataset)
    odd = 'say "hi" \\ café'
    planted = [EntityNode(entity_id("elsewhere", "stranger"), "stranger", "Stranger", "term")]
    planted.append(EntityNode(entity_id(dataset, odd), odd, odd, "term"))
    node = DocumentNode(row.doc_id, row.title or "", row.source, row.content_hash, row.kind, row.pages)
    first = chunk_id(row.doc_id, 0)
    batch = DocumentBatch(dataset, node, entities=planted, mentions=[(first, e.id) for e in planted])

    async def groups() -> AsyncIterator[list[DocumentBatch]]:
        yield [batch]

    async with runtime.gate.hold(dataset):
        await runtime.store.write(dataset, groups())
    found = await audit_dataset(runtime, dataset)

    assert found.check("isolation").offenders == [entity_id("elsewhere", "stranger")]
    keys = dict(await runtime.store.entity_keys(dataset, "", 100_000))
    assert keys[entity_id(dataset, odd)] == odd
    assert {c.name for c in found.checks if c.status != "ok"} == {"isolation"}
    monkeypatch.setattr(audit, "SPAN", 1_000_000)  # one range: the same degrees and hubs
    assert (await audit_dataset(runtime, dataset)).check("degrees").values == found.check("degrees").values
