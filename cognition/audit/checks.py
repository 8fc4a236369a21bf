"""Checks: each turns store facts or ledger rows into a value, its offenders and a status.

A status is ``ok``, ``warn`` or ``critical`` by the thresholds of ``AuditSettings``; a
dataset's status is its worst check's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cognition.settings import AuditSettings
from cognition.store.port import AuditFacts, Offenders

Status = Literal["ok", "warn", "critical"]
RANK: dict[str, int] = {"ok": 0, "warn": 1, "critical": 2}


def worst(statuses: Sequence[str]) -> Status:
    found = max(statuses, key=lambda s: RANK[s], default="ok")
    return "critical" if found == "critical" else "warn" if found == "warn" else "ok"


@dataclass(frozen=True)
class Check:
    """One check's result: ``total`` offenders counted, the first ``offenders`` listed."""

    name: str
    status: Status
    summary: str  # one line a person reads
    total: int = 0
    offenders: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def integrity(name: str, what: str, found: Offenders, population: int, limits: AuditSettings) -> Check:
    """Warn at the first offender; critical beyond ``critical_share`` of the population."""
    share = found.total / population if population else (1.0 if found.total else 0.0)
    status: Status = "ok" if not found.total else "critical" if share > limits.critical_share else "warn"
    return Check(
        name, status, f"{found.total} {what}", found.total, list(found.ids), {"share": round(share, 4)}
    )


def fact_checks(facts: AuditFacts, dimensions: int, limits: AuditSettings) -> list[Check]:
    nodes = facts.counts.nodes
    entities, chunks, documents = nodes.get("Entity", 0), nodes.get("Chunk", 0), nodes.get("Document", 0)
    vectors = sum(facts.counts.vectors.values())
    return [
        integrity("orphan_entities", "entities no chunk mentions", facts.orphan_entities, entities, limits),
        integrity(
            "documents_without_chunks",
            "documents without chunks",
            facts.documents_without_chunks,
            documents,
            limits,
        ),
        integrity(
            "chunks_without_document",
            "chunks without their document",
            facts.chunks_without_document,
            chunks,
            limits,
        ),
        integrity(
            "chunks_without_vector", "chunks without a vector", facts.chunks_without_vector, chunks, limits
        ),
        integrity(
            "vectors_without_chunk", "vectors without a chunk", facts.vectors_without_chunk, vectors, limits
        ),
        integrity(
            "dangling_edges",
            "edges joining node types their name does not join",
            facts.dangling_edges,
            sum(facts.counts.edges.values()),
            limits,
        ),
        _dimension(facts, dimensions, vectors),
        _isolation(facts),
        _degrees(facts),
        _components(facts, limits),
        _entities_per_chunk(facts, chunks, limits),
    ]


def _dimension(facts: AuditFacts, dimensions: int, vectors: int) -> Check:
    stored = facts.vector_dimensions
    if stored is None or stored == dimensions:
        return Check(
            "vector_dimensions", "ok", f"vectors have {dimensions} dimensions", values={"stored": stored}
        )
    return Check(
        "vector_dimensions",
        "critical",
        f"{vectors} vectors have {stored} dimensions, the model makes {dimensions}",
        vectors,
        values={"stored": stored, "expected": dimensions},
    )


def _isolation(facts: AuditFacts) -> Check:
    """Nodes whose id another dataset derives; on a shared Neo4j database also the nodes
    with an edge that leaves the dataset (the store adapter reports both as foreign ids)."""
    found = facts.foreign_ids
    status: Status = "critical" if found.total else "ok"
    summary = f"{found.total} nodes with another dataset's id or an edge into another dataset"
    return Check("isolation", status, summary, found.total, list(found.ids))


def _degrees(facts: AuditFacts) -> Check:
    d = facts.degrees
    return Check(
        "degrees",
        "ok",  # the shape, for the report and trends; no threshold says a shape is wrong
        f"entity degree mean {d.mean}, max {d.max}",
        values={"buckets": d.buckets, "mean": d.mean, "max": d.max, "hubs": [list(h) for h in d.hubs]},
    )


def _components(facts: AuditFacts, limits: AuditSettings) -> Check:
    """Warn when the component holding the most entities holds less than
    ``component_warn_share`` of them; offenders are entities outside it."""
    c = facts.components
    share = c.largest_entities / c.entities if c.entities else 1.0
    return Check(
        "components",
        "warn" if share < limits.component_warn_share else "ok",
        f"{c.count} connected component{'' if c.count == 1 else 's'}, "
        f"the largest holds {share:.1%} of the entities",
        c.outside.total,
        list(c.outside.ids),
        values={
            "count": c.count,
            "buckets": c.buckets,
            "largest_share": round(c.largest / c.nodes, 4) if c.nodes else 1.0,
            "largest_entity_share": round(share, 4),
        },
    )


def _entities_per_chunk(facts: AuditFacts, chunks: int, limits: AuditSettings) -> Check:
    mean = facts.mentions / chunks if chunks else 0.0
    bare = facts.chunks_without_entity / chunks if chunks else 0.0
    status: Status = (
        "critical"
        if bare > limits.bare_chunks_critical_share
        else "warn"
        if bare > limits.bare_chunks_warn_share
        else "ok"
    )
    return Check(
        "entities_per_chunk",
        status,
        f"{mean:.2f} entities per chunk, {bare:.1%} of chunks with none",
        facts.chunks_without_entity,
        values={"mean": round(mean, 3), "bare_share": round(bare, 4), "mentions": facts.mentions},
    )


def counts_check(facts: AuditFacts, previous: dict[str, Any] | None) -> Check:
    """Nodes by type, edges by relation, vectors, bytes on disk; growth since the last audit."""
    nodes, edges = facts.counts.nodes, facts.counts.edges
    storage = facts.storage
    values: dict[str, Any] = {
        "nodes": nodes,
        "edges": edges,
        "vectors": facts.counts.vectors,
        "bytes": storage,
    }
    total_nodes, total_edges, total_bytes = sum(nodes.values()), sum(edges.values()), sum(storage.values())
    if previous is not None:
        values["growth"] = {
            "nodes": total_nodes - sum(previous.get("nodes", {}).values()),
            "edges": total_edges - sum(previous.get("edges", {}).values()),
            "bytes": total_bytes - sum(previous.get("bytes", {}).values()),
        }
    summary = f"{total_nodes} nodes, {total_edges} edges, {total_bytes / 1e6:.1f} MB on disk"
    return Check("counts", "ok", summary, values=values)
