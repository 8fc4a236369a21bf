"""Run an audit of one or more datasets, store each in the ledger, and say how they are."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from cognition.audit import ledger_checks
from cognition.audit.checks import Check, Status, counts_check, fact_checks, worst
from cognition.audit.duplicates import candidates
from cognition.ledger import Ledger
from cognition.ledger.audits import AuditRecord
from cognition.runtime import Runtime
from cognition.settings import AuditSettings
from cognition.store.port import AuditFacts, Counts, Degrees, Offenders, Store

_PAGE = 2000
_KEYS = 50_000  # each page is a store read (the graph opened, every entity scanned): few, large


@dataclass(frozen=True)
class DatasetAudit:
    dataset: str
    started_at: float
    finished_at: float
    status: Status
    checks: list[Check] = field(default_factory=list)
    id: int | None = None  # the ledger's id, once stored

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "checks": [c.to_json() for c in self.checks],
        }


async def audit_datasets(runtime: Runtime, names: list[str]) -> list[DatasetAudit]:
    """Audit each dataset and store its audit in the ledger; each audit carries its id."""
    done = []
    for name in names:
        audit = await audit_dataset(runtime, name)
        stored = runtime.ledger.add_audit(
            AuditRecord(name, audit.started_at, audit.finished_at, audit.status, _checks(audit))
        )
        done.append(replace(audit, id=stored))
    return done


def _checks(audit: DatasetAudit) -> list[dict[str, Any]]:
    return [c.to_json() for c in audit.checks]


async def audit_dataset(runtime: Runtime, dataset: str, now: float | None = None) -> DatasetAudit:
    """Every check of one dataset (not stored: :func:`audit_datasets` stores)."""
    started = time.time()
    limits = runtime.settings.audit
    store, ledger = runtime.store, runtime.ledger
    stored = await store.dataset_exists(dataset)  # a dataset with nothing stored yet is empty
    facts = await store.audit_facts(dataset, limits.max_offenders) if stored else nothing_stored()
    rows = ledger.documents(dataset)
    embedder = runtime.embedder
    checks = [
        counts_check(facts, _previous_counts(ledger, dataset)),
        *fact_checks(facts, embedder.dimensions, limits),
        ledger_checks.embedding(ledger.dataset(dataset), embedder.model_id, embedder.dimensions),
        *ledger_checks.drift(rows, await _document_ids(store, dataset) if stored else set(), limits),
        ledger_checks.failed(rows, limits),
        ledger_checks.stuck(rows, time.time() if now is None else now, limits),
        ledger_checks.stale(rows, time.time() if now is None else now, limits),
        ledger_checks.coverage(rows, facts.coverage, limits),
        await duplicates(store, dataset, facts.counts.nodes.get("Entity", 0), limits, stored),
    ]
    return DatasetAudit(dataset, started, time.time(), worst([c.status for c in checks]), checks)


def _previous_counts(ledger: Ledger, dataset: str) -> dict[str, Any] | None:
    for record in ledger.audits(dataset, limit=1):
        for check in record.checks:
            if check.get("name") == "counts":
                values: dict[str, Any] = check.get("values", {})
                return values
    return None


async def _document_ids(store: Store, dataset: str) -> set[str]:
    found: set[str] = set()
    after = ""
    while page := await store.document_ids(dataset, after, _PAGE):
        found.update(page)
        after = page[-1]
    return found


def nothing_stored() -> AuditFacts:
    """The facts of a dataset the store holds nothing of (registered, nothing imported yet)."""
    return AuditFacts(
        counts=Counts({}, {}, {}),
        vector_dimensions=None,
        orphan_entities=Offenders(),
        documents_without_chunks=Offenders(),
        chunks_without_document=Offenders(),
        chunks_without_vector=Offenders(),
        vectors_without_chunk=Offenders(),
        foreign_ids=Offenders(),
        degrees=Degrees({}, 0.0, 0, ()),
        mentions=0,
        chunks_without_entity=0,
    )


async def duplicates(
    store: Store, dataset: str, entities: int, limits: AuditSettings, stored: bool = True
) -> Check:
    """Candidate pairs among at most ``duplicate_max_keys`` keys, streamed in pages."""
    keys: list[tuple[str, str]] = []
    after = ""
    while (
        stored
        and len(keys) < limits.duplicate_max_keys
        and (page := await store.entity_keys(dataset, after, _KEYS))
    ):
        keys += page[: limits.duplicate_max_keys - len(keys)]
        after = page[-1][0]
    pairs = candidates(keys, limits.duplicate_min_chars)
    share = len(pairs) / entities if entities else 0.0
    status: Status = (
        "critical"
        if share > limits.duplicate_critical_share
        else "warn"
        if share > limits.duplicate_warn_share
        else "ok"
    )
    shown = pairs[: limits.max_offenders]
    return Check(
        "duplicate_entities",
        status,
        f"{len(pairs)} candidate pairs of entities one edit or one acronym apart",
        len(pairs),
        [p.label() for p in shown],
        {
            "pairs": [[p.first_id, p.second_id, p.reason] for p in shown],
            "compared": len(keys),
            "share": round(share, 4),
        },
    )
