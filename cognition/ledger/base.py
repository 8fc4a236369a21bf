"""The ledger's SQL, once for SQLite and Postgres (``cognition.ledger.sql`` says where they
differ). See ``cognition.ledger.port`` for what it records; ``sqlite.py`` and ``postgres.py``
connect and create the schema."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cognition.ledger.audits import AUDITS_SCHEMA, AuditRecord, add_audit, audits
from cognition.ledger.jobs import JOBS_SCHEMA, JobRecord, add_job, job_record, take_next, update_job
from cognition.ledger.port import (
    COLUMNS,
    IN_FLIGHT,
    Claim,
    DatasetRecord,
    DocumentRecord,
    Failure,
    LedgerCounts,
    State,
    StateCount,
)
from cognition.ledger.repairs import REPAIRS_SCHEMA, RepairLog
from cognition.ledger.spend import SPEND_SCHEMA, SPEND_TABLES, SpendLog
from cognition.ledger.sql import Db, Dialect, Row, upsert_sql

DOCUMENTS_SCHEMA = """
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
    owner TEXT,
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
MIGRATIONS = {  # columns added after the first release, by table
    "documents": (("job_id", "TEXT"), ("fetched_at", "REAL"), ("owner", "TEXT")),
    "datasets": (("embedding_model", "TEXT"), ("embedding_dimensions", "INTEGER")),
    "jobs": (("parks", "INTEGER NOT NULL DEFAULT 0"),),
}


# created in this order
SCHEMAS = (DOCUMENTS_SCHEMA, JOBS_SCHEMA, AUDITS_SCHEMA, REPAIRS_SCHEMA, SPEND_SCHEMA)


class SqlLedger(RepairLog, SpendLog):
    """The ledger's statements over a connection from ``_connect`` (every call is its own
    short transaction); subclasses connect and create the schema."""

    _dialect: Dialect

    def _connect(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def _begin_write(self, db: Db, key: str | None = None) -> None:
        """Start a write transaction; ``key`` names what it reads to decide (see ``Dialect``)."""
        db.execute(self._dialect.begin_write)
        if key is not None and self._dialect.key_lock is not None:
            db.execute(self._dialect.key_lock, (key,))

    def upsert(self, record: DocumentRecord) -> None:
        """Write a whole record (insert or replace)."""
        with self._connect() as db:
            _write(db, record)

    def mark_queued(self, record: DocumentRecord) -> bool:
        """Record a submission to the queue, unless the document is already further along.

        Inserts the row, or resets a ``failed`` row to ``queued``; a row that is queued,
        running, stored or waiting for OCR is left alone. Returns True if the row changed.
        """
        now = time.time()
        record.state, record.created_at, record.updated_at = "queued", record.created_at or now, now
        values = [getattr(record, name) for name in COLUMNS]
        marks = ", ".join("?" for _ in COLUMNS)
        with self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO documents ({', '.join(COLUMNS)}) VALUES ({marks}) "
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
        """Move a document to a new state, with any other columns that change with it. A
        document that leaves the working states has no owner any more."""
        if state not in IN_FLIGHT:
            changes.setdefault("owner", None)
        self.update(dataset, doc_id, state=state, **changes)

    def record_failure(self, failure: Failure) -> DocumentRecord:
        """Record a failed document. An attempt that was counted when it started (the row
        is in a working state) is not counted twice."""
        with self._connect() as db:
            self._begin_write(db, _key(failure.dataset, failure.doc_id))
            previous = _get(db, failure.dataset, failure.doc_id, self._dialect.for_update)
            counted = previous is not None and previous.state in IN_FLIGHT[1:]
            record = DocumentRecord(
                dataset=failure.dataset,
                doc_id=failure.doc_id,
                source=failure.source,
                content_hash=failure.content_hash,
                kind=failure.kind,
                state="failed",
                title=previous.title if previous else None,
                pages=failure.pages or (previous.pages if previous else 0),
                error=failure.reason,
                permanent=int(failure.permanent),
                attempts=(previous.attempts if previous else 0) + (0 if counted else 1),
                pipeline_version=failure.pipeline_version,
                job_id=previous.job_id if previous else None,
                fetched_at=previous.fetched_at if previous else None,
                created_at=previous.created_at if previous else 0.0,
            )
            _write(db, record)
            db.execute("COMMIT")
        return record

    def claim(self, record: DocumentRecord, owner: str, alive: Callable[[DocumentRecord], bool]) -> Claim:
        """Take ``record``'s document for ``owner`` in one transaction (see the port)."""
        with self._connect() as db:
            self._begin_write(db, _key(record.dataset, record.doc_id))
            previous = _get(db, record.dataset, record.doc_id, self._dialect.for_update)
            if previous is not None and previous.state in ("stored", "needs_ocr"):
                db.execute("ROLLBACK")  # done meanwhile, by another process
                return Claim(False, previous)
            held = previous is not None and previous.state in IN_FLIGHT and previous.owner
            if held and previous is not None and previous.owner != owner and alive(previous):
                db.execute("ROLLBACK")
                return Claim(False, previous, previous.owner)
            if previous is not None:
                record.attempts = previous.attempts + 1
                record.job_id = previous.job_id
                record.created_at = previous.created_at
                record.fetched_at = previous.fetched_at
            else:
                record.attempts = 1
            record.owner = owner
            _write(db, record)
            db.execute("COMMIT")
        return Claim(True, previous)

    def update(self, dataset: str, doc_id: str, **changes: Any) -> None:
        """Change columns of a document's row."""
        changes = {"updated_at": time.time(), **changes}
        unknown = set(changes) - set(COLUMNS)
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
            return _get(db, dataset, doc_id)

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
                "INSERT INTO datasets (name, description, created_at, version) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET description = CASE WHEN excluded.description != '' "
                "THEN excluded.description ELSE datasets.description END",
                # A new dataset's version starts from the clock, not 0: a dataset deleted and
                # made again under its name never repeats a version another process cached.
                (name, description, time.time(), time.time_ns() // 1000),
            )

    def dataset(self, name: str) -> DatasetRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return DatasetRecord(
            name=str(row["name"]),
            description=str(row["description"]),
            version=int(row["version"]),
            embedding_model=row["embedding_model"],
            embedding_dimensions=row["embedding_dimensions"],
            created_at=float(row["created_at"]),
        )

    def set_embedding(self, name: str, model: str, dimensions: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE datasets SET embedding_model = ?, embedding_dimensions = ? WHERE name = ?",
                (model, dimensions, name),
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

    def documents_page(
        self, dataset: str, state: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[DocumentRecord]:
        """Up to ``limit`` documents ordered by (source, id), after the ``after`` key."""
        query, args = "SELECT * FROM documents WHERE dataset = ?", [dataset]
        if state is not None:
            query, args = query + " AND state = ?", [*args, state]
        if after is not None:
            query, args = query + " AND (source, doc_id) > (?, ?)", [*args, *after]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY source, doc_id LIMIT ?", [*args, limit]).fetchall()
        return [r for r in map(_record, rows) if r is not None]

    def forget_dataset(self, name: str) -> None:
        """Its documents, jobs, audits and dataset row go (the store's data is the caller's)."""
        with self._connect() as db:
            self._begin_write(db)
            for table, column in (
                ("documents", "dataset"),
                ("jobs", "dataset"),
                ("audits", "dataset"),  # a new dataset of the name starts its own history
                ("repairs", "dataset"),
                *((table, "dataset") for table in SPEND_TABLES),
                ("datasets", "name"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))
            db.execute("COMMIT")

    # ------------------------------------------------------------------ jobs

    def add_job(self, job: JobRecord) -> bool:
        with self._connect() as db:
            return add_job(db, job)

    def job(self, job_id: str) -> JobRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else job_record(row)

    def update_job(self, job_id: str, **changes: Any) -> None:
        with self._connect() as db:
            update_job(db, job_id, changes)

    def jobs(
        self, dataset: str | None = None, states: tuple[str, ...] = (), limit: int = 100
    ) -> list[JobRecord]:
        """Jobs, newest first."""
        query, args = "SELECT * FROM jobs WHERE 1 = 1", []
        if dataset is not None:
            query, args = query + " AND dataset = ?", [dataset]
        if states:
            query += f" AND state IN ({', '.join('?' for _ in states)})"
            args += list(states)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC LIMIT ?", [*args, limit]).fetchall()
        return [job_record(row) for row in rows]

    def take_next_job(self, now: float) -> JobRecord | None:
        with self._connect() as db:
            return take_next(db, now, self._dialect.skip_locked)

    def requeue_running_jobs(self) -> int:
        """Put jobs left ``running`` by a process that ended back in the queue (one process
        runs jobs without Redis; it calls this when it starts)."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running'", (time.time(),)
            )
            return cursor.rowcount

    def counts(self) -> LedgerCounts:
        """GROUP BY in one read transaction (one snapshot): a scrape of hundreds of
        datasets loads no document row but those in a working state with an owner."""
        working = f"state IN ({', '.join('?' for _ in IN_FLIGHT)}) AND owner IS NOT NULL"
        with self._connect() as db:
            db.execute(self._dialect.begin_read)
            names = [str(r["name"]) for r in db.execute("SELECT name FROM datasets ORDER BY name")]
            grouped = db.execute(
                "SELECT dataset, state, COUNT(*) AS n, SUM(pages) AS pages, SUM(chunks) AS chunks "
                f"FROM documents WHERE NOT ({working}) GROUP BY dataset, state",
                IN_FLIGHT,
            ).fetchall()
            owned = db.execute(f"SELECT * FROM documents WHERE {working}", IN_FLIGHT).fetchall()
            jobs = db.execute("SELECT dataset, state, COUNT(*) AS n FROM jobs GROUP BY dataset, state")
            jobs_by = {(str(r["dataset"]), str(r["state"])): int(r["n"]) for r in jobs}
            db.execute("COMMIT")
        documents = [
            StateCount(str(r["dataset"]), str(r["state"]), int(r["n"]), int(r["pages"]), int(r["chunks"]))
            for r in grouped
        ]
        return LedgerCounts(names, documents, [r for r in map(_record, owned) if r is not None], jobs_by)

    # ---------------------------------------------------------------- audits

    def add_audit(self, record: AuditRecord) -> int:
        with self._connect() as db:
            return add_audit(db, record)

    def audits(self, dataset: str, limit: int = 100) -> list[AuditRecord]:
        with self._connect() as db:
            return audits(db, dataset, limit)


def _key(dataset: str, doc_id: str) -> str:
    return f"documents:{dataset}:{doc_id}"


def _get(db: Db, dataset: str, doc_id: str, lock: str = "") -> DocumentRecord | None:
    """The row; ``lock`` (``FOR UPDATE``) holds it until the transaction ends."""
    query = "SELECT * FROM documents WHERE dataset = ? AND doc_id = ?" + lock
    return _record(db.execute(query, (dataset, doc_id)).fetchone())


_UPSERT = upsert_sql("documents", COLUMNS, ("dataset", "doc_id"))


def _write(db: Db, record: DocumentRecord) -> None:
    now = time.time()
    record.updated_at = now
    record.created_at = record.created_at or now
    db.execute(_UPSERT, [getattr(record, name) for name in COLUMNS])


def _record(row: Row | None) -> DocumentRecord | None:
    if row is None:
        return None
    return DocumentRecord(**{name: row[name] for name in COLUMNS})
