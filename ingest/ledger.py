"""The durable per-document record: one row per document and dataset.

It lives in the data directory (SQLite in WAL mode, safe for several local processes) and is
the one record of document state: ``queued → reading → embedding → storing → stored``, or
``failed`` (with reason and whether it is permanent), or ``needs_ocr``. A row left in an
intermediate state by a crash marks a partial document that the next import cleans and redoes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

# A document goes queued (workers only) → reading (opened) → embedding (its first batch is
# being embedded, outside any lock) → storing (its first batch is being written under the
# dataset's write gate; later batches are embedded meanwhile, and ``chunks`` counts those
# stored) → stored, or ends failed or needs_ocr.
State = Literal["queued", "reading", "embedding", "storing", "stored", "failed", "needs_ocr"]
IN_FLIGHT: tuple[State, ...] = ("queued", "reading", "embedding", "storing")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    dataset TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    title TEXT,
    author TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    entities INTEGER NOT NULL DEFAULT 0,
    relations INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    permanent INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    read_seconds REAL NOT NULL DEFAULT 0,
    extract_seconds REAL NOT NULL DEFAULT 0,
    store_seconds REAL NOT NULL DEFAULT 0,
    total_seconds REAL NOT NULL DEFAULT 0,
    pipeline_version TEXT NOT NULL DEFAULT '',
    job_id TEXT,
    fetched_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (dataset, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_source ON documents (dataset, source);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
"""


@dataclass
class DocumentRecord:
    """One row of the ledger."""

    dataset: str
    doc_id: str
    source: str
    content_hash: str
    kind: str
    state: str
    title: str | None = None
    author: str | None = None
    pages: int = 0
    chunks: int = 0
    entities: int = 0
    relations: int = 0
    error: str | None = None
    permanent: int = 0
    attempts: int = 0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    store_seconds: float = 0.0
    total_seconds: float = 0.0
    pipeline_version: str = ""
    job_id: str | None = None  # set while the document goes through the queue
    fetched_at: float | None = None  # web pages: when the stored content was fetched
    created_at: float = 0.0
    updated_at: float = 0.0


_COLUMNS = [f.name for f in fields(DocumentRecord)]


def failure(
    dataset: str,
    doc_id: str,
    source: str,
    content_hash: str,
    kind: str,
    reason: str,
    version: str,
    **more: Any,
) -> DocumentRecord:
    """The row of a document that failed for good (a bad file): recorded once, never retried."""
    return DocumentRecord(
        dataset=dataset,
        doc_id=doc_id,
        source=source,
        content_hash=content_hash,
        kind=kind,
        state="failed",
        error=reason,
        permanent=1,
        pipeline_version=version,
        **more,
    )


class Ledger:
    """Access to the ledger file. Cheap to construct; every call opens a short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._use_wal()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one process at a time creates or migrates the schema
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit
                db.execute(statement)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(documents)")}
            for name, kind in (("job_id", "TEXT"), ("fetched_at", "REAL")):  # older ledgers
                if name not in columns:
                    db.execute(f"ALTER TABLE documents ADD COLUMN {name} {kind}")
            db.execute("COMMIT")

    def _use_wal(self) -> None:
        """Switch the file to WAL once (the mode is stored in the file). SQLite answers a
        switch that meets another process's lock with "database is locked" at once, without
        waiting: two processes opening a new ledger together retry, briefly."""
        for _ in range(200):
            try:
                with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
                    db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.05)
        raise sqlite3.OperationalError(f"{self.path}: locked by another process for 10 s")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    def upsert(self, record: DocumentRecord) -> None:
        """Write a whole record (insert or replace)."""
        now = time.time()
        record.updated_at = now
        record.created_at = record.created_at or now
        values = [getattr(record, name) for name in _COLUMNS]
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO documents ({', '.join(_COLUMNS)}) VALUES ({marks})", values)

    def mark_queued(self, record: DocumentRecord) -> bool:
        """Record a submission to the queue, unless the document is already further along.

        Inserts the row, or resets a ``failed`` row to ``queued``; a row that is queued,
        running, stored or waiting for OCR is left alone. Returns True if the row changed.
        """
        now = time.time()
        record.state, record.created_at, record.updated_at = "queued", record.created_at or now, now
        values = [getattr(record, name) for name in _COLUMNS]
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO documents ({', '.join(_COLUMNS)}) VALUES ({marks}) "
                "ON CONFLICT(dataset, doc_id) DO UPDATE SET state = 'queued', error = NULL, "
                "permanent = 0, job_id = excluded.job_id, source = excluded.source, "
                "updated_at = excluded.updated_at WHERE documents.state = 'failed'",
                values,
            )
            return cursor.rowcount > 0

    def queued_in_flight(self) -> list[DocumentRecord]:
        """Documents submitted through the queue that are not finished (any dataset)."""
        marks = ", ".join("?" for _ in IN_FLIGHT)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM documents WHERE job_id IS NOT NULL AND state IN ({marks})", IN_FLIGHT
            ).fetchall()
        return [r for r in map(_record, rows) if r is not None]

    def set_state(self, dataset: str, doc_id: str, state: State, **changes: Any) -> None:
        """Move a document to a new state, with any other columns that change with it."""
        self.update(dataset, doc_id, state=state, **changes)

    def update(self, dataset: str, doc_id: str, **changes: Any) -> None:
        """Change columns of a document's row."""
        changes = {"updated_at": time.time(), **changes}
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown ledger columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        with self._connect() as db:
            db.execute(
                f"UPDATE documents SET {assignments} WHERE dataset = ? AND doc_id = ?",
                [*changes.values(), dataset, doc_id],
            )

    def get(self, dataset: str, doc_id: str) -> DocumentRecord | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM documents WHERE dataset = ? AND doc_id = ?", (dataset, doc_id)
            ).fetchone()
        return _record(row)

    def by_source(self, dataset: str, source: str) -> list[DocumentRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM documents WHERE dataset = ? AND source = ? ORDER BY updated_at",
                (dataset, source),
            ).fetchall()
        return [r for r in map(_record, rows) if r is not None]

    def documents(self, dataset: str, state: str | None = None) -> list[DocumentRecord]:
        query, args = "SELECT * FROM documents WHERE dataset = ?", [dataset]
        if state is not None:
            query, args = query + " AND state = ?", [*args, state]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY source", args).fetchall()
        return [r for r in map(_record, rows) if r is not None]

    def delete(self, dataset: str, doc_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM documents WHERE dataset = ? AND doc_id = ?", (dataset, doc_id))

    def register_dataset(self, name: str, description: str = "") -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO datasets (name, description, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET description = "
                "CASE WHEN excluded.description != '' THEN excluded.description ELSE description END",
                (name, description, time.time()),
            )

    def bump_version(self, name: str) -> None:
        """Mark a dataset changed (search caches key on the version)."""
        with self._connect() as db:
            db.execute("UPDATE datasets SET version = version + 1 WHERE name = ?", (name,))

    def dataset_version(self, name: str) -> int | None:
        with self._connect() as db:
            row = db.execute("SELECT version FROM datasets WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row["version"])

    def datasets(self) -> list[str]:
        with self._connect() as db:
            return [str(r["name"]) for r in db.execute("SELECT name FROM datasets ORDER BY name")]


def _record(row: sqlite3.Row | None) -> DocumentRecord | None:
    if row is None:
        return None
    return DocumentRecord(**{name: row[name] for name in _COLUMNS})
