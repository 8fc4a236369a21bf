"""A real import on the Neo4j backend, end to end: the pipeline writes through the Neo4j
adapter (batched UNWIND writes, LanceDB vectors), search finds the excerpt's text, and an
audit of the dataset is ok on every check, isolation included."""

from __future__ import annotations

from pathlib import Path

from cognition.audit import audit_datasets
from cognition.runtime import Runtime
from ingest.importer import Importer
from tests.helpers import new_dataset_name


async def test_an_excerpt_imported_on_neo4j_searches_and_audits_ok(
    neo4j_runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = new_dataset_name("neo4j-import")

    summary = await Importer(neo4j_runtime).import_paths([excerpts["git_objects"]], dataset)
    [audit] = await audit_datasets(neo4j_runtime, [dataset])
    counts = await neo4j_runtime.store.counts(dataset)
    hits = {
        mode: await neo4j_runtime.searcher.search("how does git store a blob object", [dataset], mode, 5)
        for mode in ("vector", "hybrid", "graph")
    }

    assert summary.to_json()["added"] == 1
    assert counts.nodes["Document"] == 1 and counts.nodes["Chunk"] == counts.vectors["Chunk_text"] > 0
    assert {c.name: c.status for c in audit.checks if c.status != "ok"} == {}
    assert audit.check("isolation").offenders == [] and audit.check("components").values["count"] == 1
    for mode, found in hits.items():
        assert {h.dataset for h in found} == {dataset}, mode
        assert any("blob" in h.text.lower() for h in found), mode
