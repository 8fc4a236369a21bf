"""A whole real book, imported as a user imports it, audits clean: every check ok, and the
figures the report shows are the book's (one document, its pages and chunks, one vector per
chunk, a graph with entities that chunks mention)."""

from __future__ import annotations

from cognition.audit import audit_dataset
from cognition.runtime import Runtime


async def test_a_whole_book_audits_ok_on_every_check(runtime: Runtime, book: str) -> None:
    audit = await audit_dataset(runtime, book)

    assert {c.name: (c.status, c.summary) for c in audit.checks if c.status != "ok"} == {}
    assert audit.status == "ok"
    assert [c.name for c in audit.checks if c.offenders and c.name != "duplicate_entities"] == []
    [row] = runtime.ledger.documents(book)
    counts = audit.check("counts").values
    assert counts["nodes"]["Document"] == 1
    assert counts["nodes"]["Chunk"] == row.chunks == counts["vectors"]["Chunk_text"]
    assert counts["nodes"]["Entity"] > 1000 and counts["edges"]["mentions"] > row.chunks
    # a real book has a few near-duplicate names ("tree" / "three"), well under the threshold
    duplicates = audit.check("duplicate_entities")
    assert 0 < duplicates.total < runtime.settings.audit.duplicate_warn_share * counts["nodes"]["Entity"]
