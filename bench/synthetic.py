"""Synthetic datasets shaped like a real book import, written through the store's own write
path (``Store.write``: Ladybug ``COPY`` of nodes and edges, LanceDB rows of the chunks'
vectors) and recorded in the ledger as stored, so an audit sees what an import leaves.

Proportions per chunk are those of the three shared books imported with default settings
(3 documents, 688 sections, 890 pages, 2,168 chunks, 16,587 entities; 35,138 mentions,
88,402 entity relations of which 83,536 ``co_occurs_with``, 3,044 ``on_page``): about 9.4
nodes and 60 edges per chunk, 723 chunks per document. Entities are random lowercase keys
(none one edit from another, so the duplicate check has nothing to find); every chunk
mentions its own new entities, earlier ones of its document and one of a few shared hubs, so
no entity is an orphan and no chunk is bare. Vectors are random unit vectors: the embedding
model is never loaded. The same seed always makes the same dataset.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from cognition.datasets import chunk_id, document_id, entity_id, stable_id
from cognition.gate import WriteGate
from cognition.ledger import DocumentRecord, Ledger
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode, SectionNode, Store

SECTIONS_PER_CHUNK = 688 / 2168
TOP_SECTION_SHARE = 26 / 688
PAGES_PER_CHUNK = 890 / 2168
NEW_ENTITIES_PER_CHUNK = 16587 / 2168
MENTIONS_PER_CHUNK = 16  # 35,138 / 2,168 = 16.2
RELATIONS_PER_CHUNK = 88402 / 2168  # entity → entity, 94.5 % co_occurs_with
CHUNKS_PER_DOCUMENT = 723
NODES_PER_CHUNK = 1 / CHUNKS_PER_DOCUMENT + SECTIONS_PER_CHUNK + PAGES_PER_CHUNK + 1 + NEW_ENTITIES_PER_CHUNK
HUBS = 50  # entities every document mentions (the books share "file", "command", ...)
RELATIONS = ("is_a", "uses", "contains", "returns", "defines", "creates")
CHUNK_CHARS = 900
_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "with",
    "file",
    "command",
    "shell",
    "data",
    "git",
    "object",
    "tree",
]


@dataclass
class Tally:
    """What the generator wrote: nodes by type, edges by relation, vectors."""

    nodes: Counter[str] = field(default_factory=Counter)
    edges: Counter[str] = field(default_factory=Counter)
    vectors: int = 0
    documents: int = 0

    def to_json(self) -> dict[str, object]:
        return {"nodes": dict(self.nodes), "edges": dict(self.edges), "vectors": self.vectors}


@dataclass(frozen=True)
class Plan:
    dataset: str
    chunks: int
    dimensions: int
    seed: int = 7
    batch_chunks: int = 400  # the import's default chunks_per_batch

    @classmethod
    def for_nodes(cls, dataset: str, nodes: int, dimensions: int, seed: int = 7) -> Plan:
        return cls(dataset, max(1, round(nodes / NODES_PER_CHUNK)), dimensions, seed)

    def documents(self) -> list[int]:
        """Chunks of each document: full books, then the rest."""
        full, rest = divmod(self.chunks, CHUNKS_PER_DOCUMENT)
        return [CHUNKS_PER_DOCUMENT] * full + ([rest] if rest else [])


async def generate(plan: Plan, store: Store, ledger: Ledger, gate: WriteGate) -> Tally:
    """Write ``plan``'s dataset (one write, one group per batch) and its ledger rows."""
    tally = Tally()
    maker = _Maker(plan, tally)
    ledger.register_dataset(plan.dataset, "synthetic (bench.synthetic)")

    async def groups() -> AsyncIterator[list[DocumentBatch]]:
        for number, chunks in enumerate(plan.documents()):
            for batch in maker.document(number, chunks):
                yield [batch]
            ledger.upsert(maker.record(number, chunks))

    await store.ensure_dataset(plan.dataset)
    async with gate.hold(plan.dataset):
        await store.write(plan.dataset, groups())
    return tally


class _Maker:
    """Builds one document's batches at a time (memory: one batch)."""

    def __init__(self, plan: Plan, tally: Tally) -> None:
        self.plan, self.tally = plan, tally
        self.rng = random.Random(plan.seed)
        self.vectors = np.random.default_rng(plan.seed)
        self.text = " ".join(self.rng.choice(_WORDS) for _ in range(4 * CHUNK_CHARS))
        self.hubs = [self._entity() for _ in range(min(HUBS, plan.chunks))]
        self.written = 0  # chunks so far: chunk n mentions hub n % hubs, so each hub is mentioned
        self.hub_ids = {e.id for e in self.hubs}
        self.hubs_written = False

    def _key(self) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))

    def _entity(self) -> EntityNode:
        key = self._key()
        return EntityNode(entity_id(self.plan.dataset, key), key, key.title(), "term")

    def _hash(self, number: int) -> str:
        return hashlib.sha256(f"synthetic:{self.plan.seed}:{number}".encode()).hexdigest()

    def node(self, number: int, chunks: int) -> DocumentNode:
        digest = self._hash(number)
        pages = max(1, round(chunks * PAGES_PER_CHUNK))
        doc = document_id(self.plan.dataset, digest)
        return DocumentNode(
            doc, f"Synthetic book {number}", f"synthetic://{number}.pdf", digest, "pdf", pages
        )

    def record(self, number: int, chunks: int) -> DocumentRecord:
        doc, now = self.node(number, chunks), time.time()
        return DocumentRecord(
            self.plan.dataset,
            doc.id,
            doc.source,
            doc.content_hash,
            doc.kind,
            "stored",
            title=doc.title,
            pages=doc.pages,
            chunks=chunks,
            created_at=now,
            updated_at=now,
        )

    def document(self, number: int, chunks: int) -> list[DocumentBatch]:
        doc = self.node(number, chunks)
        sections = _sections(doc.id, max(1, round(chunks * SECTIONS_PER_CHUNK)))
        seen: list[str] = []  # this document's entities so far
        batches = []
        for start in range(0, chunks, self.plan.batch_chunks):
            batch = DocumentBatch(self.plan.dataset, doc)
            if start == 0:
                batch.sections, batch.pages = sections, list(range(1, doc.pages + 1))
                self.tally.nodes.update(Document=1, Section=len(sections), Page=doc.pages)
                self.tally.documents += 1
            for index in range(start, min(chunks, start + self.plan.batch_chunks)):
                self._chunk(batch, index, chunks, sections, seen)
            batch.entities += self.hubs
            batch.vectors = self._unit_vectors(len(batch.chunks))
            self._count(batch)
            batches.append(batch)
        return batches

    def _chunk(
        self, batch: DocumentBatch, index: int, chunks: int, sections: list[SectionNode], seen: list[str]
    ) -> None:
        doc = batch.document
        page = 1 + index * doc.pages // chunks
        end = page + 1 if index % 5 < 2 and page < doc.pages else page  # 40 % span two pages
        section = sections[index * len(sections) // chunks]
        offset = self.rng.randrange(3 * CHUNK_CHARS)
        cid = chunk_id(doc.id, index)
        batch.chunks.append(
            ChunkNode(
                cid,
                doc.id,
                index,
                self.text[offset : offset + CHUNK_CHARS],
                page,
                end,
                section.id,
                (section.title,),
            )
        )
        fresh = round((index + 1) * NEW_ENTITIES_PER_CHUNK) - round(index * NEW_ENTITIES_PER_CHUNK)
        new = [self._entity() for _ in range(fresh)]
        batch.entities += new
        mentioned = [e.id for e in new] + [self.hubs[self.written % len(self.hubs)].id]
        self.written += 1
        older = self.rng.sample(seen, min(len(seen), MENTIONS_PER_CHUNK))
        mentioned = list(dict.fromkeys(mentioned + older))[:MENTIONS_PER_CHUNK]
        seen += [e.id for e in new]
        batch.mentions += [(cid, e) for e in mentioned]
        for _ in range(int(RELATIONS_PER_CHUNK) + (self.rng.random() < RELATIONS_PER_CHUNK % 1)):
            src, dst = self.rng.sample(mentioned, 2) if len(mentioned) > 1 else (mentioned[0], mentioned[0])
            name = "co_occurs_with" if self.rng.random() < 0.945 else self.rng.choice(RELATIONS)
            batch.relations.append((src, dst, name, 1.0))

    def _unit_vectors(self, rows: int) -> np.ndarray:
        found = self.vectors.standard_normal((rows, self.plan.dimensions), dtype=np.float32)
        found /= np.linalg.norm(found, axis=1, keepdims=True)
        return found

    def _count(self, batch: DocumentBatch) -> None:
        """The nodes and edges the store makes of ``batch`` (``cognee.schema``'s rules)."""
        fresh = {e.id for e in batch.entities} - self.hub_ids
        if not self.hubs_written:  # the hubs are created by the first write, then known
            fresh |= self.hub_ids
            self.hubs_written = True
        self.tally.nodes.update(Chunk=len(batch.chunks), Entity=len(fresh))
        self.tally.vectors += len(batch.chunks)
        edges = self.tally.edges
        for section in batch.sections:
            edges["has_subsection" if section.parent_id else "has_section"] += 1
        edges["has_page"] += len(batch.pages)
        edges["has_chunk"] += len(batch.chunks)
        edges["on_page"] += sum(c.page_end - c.page_start + 1 for c in batch.chunks)
        edges["mentions"] += len(dict.fromkeys(batch.mentions))
        edges.update(name for _, _, name in {(s, d, n) for s, d, n, _ in batch.relations})


def _sections(doc: str, count: int) -> list[SectionNode]:
    """``count`` sections, about 4 % of them chapters and the rest their subsections."""
    every = max(1, round(1 / TOP_SECTION_SHARE))
    found: list[SectionNode] = []
    parent: str | None = None
    for number in range(count):
        sid = str(stable_id(doc, "section", str(number)))
        if number % every == 0:
            found.append(SectionNode(sid, f"Chapter {number // every + 1}", 0, None))
            parent = sid
        else:
            found.append(SectionNode(sid, f"Section {number}", 1, parent))
    return found
