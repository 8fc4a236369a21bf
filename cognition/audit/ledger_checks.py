"""Checks that read the ledger: drift against the store, failed and stuck documents, and
the embedding model the dataset was built with."""

from __future__ import annotations

from cognition.audit.checks import Check, Status, integrity
from cognition.ledger import IN_FLIGHT, DocumentRecord
from cognition.ledger.port import DatasetRecord
from cognition.settings import AuditSettings
from cognition.store.port import Offenders


def _capped(ids: list[str], cap: int) -> Offenders:
    return Offenders(len(ids), tuple(sorted(ids)[:cap]))


def drift(rows: list[DocumentRecord], in_store: set[str], limits: AuditSettings) -> list[Check]:
    """Documents the ledger calls stored that the store lacks, and documents in the store
    the ledger does not call stored (nor has in progress)."""
    stored = {r.doc_id for r in rows if r.state == "stored"}
    working = {r.doc_id for r in rows if r.state in IN_FLIGHT}
    cap = limits.max_offenders
    return [
        integrity(
            "ledger_not_in_store",
            "documents stored in the ledger but absent from the store",
            _capped(sorted(stored - in_store), cap),
            len(stored),
            limits,
        ),
        integrity(
            "store_not_in_ledger",
            "documents in the store the ledger does not call stored",
            _capped(sorted(in_store - stored - working), cap),
            len(in_store),
            limits,
        ),
    ]


def failed(rows: list[DocumentRecord], limits: AuditSettings) -> Check:
    bad = sorted((r for r in rows if r.state in ("failed", "needs_ocr")), key=lambda r: r.doc_id)
    failures = [r for r in bad if r.state == "failed"]
    share = len(failures) / len(rows) if rows else 0.0
    status: Status = "ok" if not failures else "critical" if share > limits.failed_critical_share else "warn"
    shown = bad[: limits.max_offenders]
    return Check(
        "failed_documents",
        status,
        f"{len(failures)} failed, {len(bad) - len(failures)} need OCR",
        len(bad),
        [r.doc_id for r in shown],
        {"reasons": {r.doc_id: f"{r.source}: {r.error or r.state}" for r in shown}, "share": round(share, 4)},
    )


def stuck(rows: list[DocumentRecord], now: float, limits: AuditSettings) -> Check:
    old = sorted(
        (r for r in rows if r.state in IN_FLIGHT and now - r.updated_at > limits.stuck_seconds),
        key=lambda r: r.doc_id,
    )
    shown = old[: limits.max_offenders]
    return Check(
        "stuck_documents",
        "warn" if old else "ok",
        f"{len(old)} documents in progress for more than {limits.stuck_seconds:.0f} s",
        len(old),
        [r.doc_id for r in shown],
        {"states": {r.doc_id: f"{r.state} since {r.updated_at:.0f} ({r.source})" for r in shown}},
    )


def embedding(record: DatasetRecord | None, model: str, dimensions: int) -> Check:
    built = None if record is None else record.embedding_model
    if built is None or (built, record.embedding_dimensions if record else None) == (model, dimensions):
        return Check("embedding_model", "ok", f"built with {built or model}", values={"model": built})
    return Check(
        "embedding_model",
        "critical",
        f"built with {built}, configured {model} ({dimensions} dims)",
        values={"model": built, "configured": model},
    )


def _covered(row: DocumentRecord, pages_covered: int) -> tuple[float, int, int]:
    """(share, pages with text, pages) of a stored document with chunks: a PDF by its pages,
    anything else (a web page) covered whole by having a chunk."""
    if row.kind != "pdf" or row.pages <= 0:
        return 1.0, 1, 1
    return round(min(1.0, pages_covered / row.pages), 4), pages_covered, row.pages


def coverage(rows: list[DocumentRecord], found: dict[str, tuple[int, int]], limits: AuditSettings) -> Check:
    """Pages with text / pages per stored document that has chunks in the store (one without
    is ``documents_without_chunks`` or ``ledger_not_in_store``), worst first."""
    docs = sorted(
        (*_covered(r, found[r.doc_id][1]), r.doc_id, r.source, r.kind, r.title or "")
        for r in rows
        if r.state == "stored" and r.doc_id in found
    )
    low = [d for d in docs if d[0] < limits.coverage_warn_share]
    critical = any(d[0] < limits.coverage_critical_share for d in low)
    status: Status = "critical" if critical else "warn" if low else "ok"
    cap = limits.max_offenders
    return Check(
        "coverage",
        status,
        f"{len(low)} documents with text on less than {limits.coverage_warn_share:.0%} of their pages",
        len(low),
        [d[3] for d in low[:cap]],
        {
            "documents": [
                [d, c, p, share, source, kind, title] for share, c, p, d, source, kind, title in docs[:cap]
            ],
            "reasons": {d: f"{c}/{p} pages with text ({share:.0%})" for share, c, p, d, *_ in low[:cap]},
            "mean": round(sum(d[0] for d in docs) / len(docs), 4) if docs else 1.0,
        },
    )


def stale(rows: list[DocumentRecord], now: float, limits: AuditSettings) -> Check:
    """Stored crawled pages fetched longer ago than ``stale_seconds``, oldest first."""
    fetched = [(r.fetched_at, r) for r in rows if r.state == "stored" and r.fetched_at is not None]
    old = sorted(
        ((at, r) for at, r in fetched if now - at > limits.stale_seconds), key=lambda o: (o[0], o[1].doc_id)
    )
    shown = old[: limits.max_offenders]
    return Check(
        "stale_pages",
        "warn" if old else "ok",
        f"{len(old)} crawled pages fetched more than {limits.stale_seconds / 86400:.0f} days ago",
        len(old),
        [r.doc_id for _, r in shown],
        {"reasons": {r.doc_id: f"{r.source} fetched {(now - at) / 86400:.1f} days ago" for at, r in shown}},
    )
