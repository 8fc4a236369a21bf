"""Many small text records in one pipeline run (the retrieval benchmark imports corpora so)."""

from __future__ import annotations

from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import Searcher
from cognition.store.port import Store
from ingest.records import RecordImporter, TextRecord

RECORDS = [
    TextRecord(
        "p1", "Demon Dice", "Demon Dice is a collectible dice game created by Lester Smith and Tim Brown."
    ),
    TextRecord("p2", "Lester Smith", "Lester Smith is a game designer known for Dragon Dice and Demon Dice."),
    TextRecord(
        "p3", "Lilu (mythology)", "In Akkadian mythology the Lilu is a spirit, a wind demon of the night."
    ),
]


async def test_records_become_documents_with_their_own_provenance_and_reruns_add_nothing(
    runtime: Runtime, ledger: Ledger, store: Store, searcher: Searcher, dataset_name: str
) -> None:
    importer = RecordImporter(runtime)

    first = await importer.import_records(dataset_name, RECORDS)
    second = await importer.import_records(dataset_name, RECORDS)
    stats = await store.stats(dataset_name)
    rows = {r.source: r for r in ledger.documents(dataset_name)}
    hits = await searcher.search("Who created the dice game Demon Dice?", [dataset_name], "hybrid", 2)

    assert (first.added, first.skipped, second.added, second.skipped) == (3, 0, 0, 3)
    assert (stats.documents, stats.chunks, stats.chunk_vectors) == (3, 3, 3)
    assert {s: (r.state, r.chunks, r.kind) for s, r in rows.items()} == {
        "p1": ("stored", 1, "record"),
        "p2": ("stored", 1, "record"),
        "p3": ("stored", 1, "record"),
    }
    assert hits[0].source == "p1" and hits[0].document_title == "Demon Dice"
    assert "lester smith" in {e.lower() for e in hits[0].entities}
