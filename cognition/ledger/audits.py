"""Stored audits: one row per dataset audited, with its checks as JSON, so trends show.

The table lives in the ledger's database beside documents and jobs; the ledger (SQLite or
Postgres) creates it and delegates here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cognition.ledger.sql import Db

AUDITS_SCHEMA = """
CREATE TABLE IF NOT EXISTS audits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    status TEXT NOT NULL,
    checks TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audits_dataset ON audits (dataset, started_at)
"""


@dataclass(frozen=True)
class AuditRecord:
    """One dataset's audit as stored: its overall status and every check's result (JSON)."""

    dataset: str
    started_at: float
    finished_at: float
    status: str  # ok | warn | critical
    checks: list[dict[str, Any]]
    id: int | None = None


def add_audit(db: Db, record: AuditRecord) -> int:
    [row] = db.execute(
        "INSERT INTO audits (dataset, started_at, finished_at, status, checks) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (record.dataset, record.started_at, record.finished_at, record.status, json.dumps(record.checks)),
    ).fetchall()
    return int(row["id"])


def audits(db: Db, dataset: str, limit: int) -> list[AuditRecord]:
    """The dataset's audits, newest first."""
    rows = db.execute(
        "SELECT * FROM audits WHERE dataset = ? ORDER BY started_at DESC, id DESC LIMIT ?", (dataset, limit)
    ).fetchall()
    return [
        AuditRecord(
            dataset=str(r["dataset"]),
            started_at=float(r["started_at"]),
            finished_at=float(r["finished_at"]),
            status=str(r["status"]),
            checks=json.loads(r["checks"]),
            id=int(r["id"]),
        )
        for r in rows
    ]
