"""Recorded repairs: one row per repair kind and run, dry or applied, in the ledger's
database beside the audits, so an operator can tell what was changed, when, and what was
only looked at.

``RepairLog`` gives the ledger (SQLite or Postgres) its two methods; it needs the ledger's
``_connect``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from cognition.ledger.sql import Db

REPAIRS_SCHEMA = """
CREATE TABLE IF NOT EXISTS repairs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    count INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS repairs_dataset ON repairs (dataset, at)
"""


@dataclass(frozen=True)
class RepairRecord:
    """One repair kind of one run: planned (``dry_run``) or applied, how many items, and
    each item's id and change (JSON)."""

    dataset: str
    at: float
    kind: str  # orphans | vectors | stray | duplicates | failed
    dry_run: bool
    count: int
    details: dict[str, Any]
    id: int | None = None


class RepairLog:
    """The ``repairs`` table of the ledger."""

    def _connect(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def add_repair(self, record: RepairRecord) -> int:
        with self._connect() as db:
            [row] = db.execute(
                "INSERT INTO repairs (dataset, at, kind, dry_run, count, details) VALUES (?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    record.dataset,
                    record.at,
                    record.kind,
                    int(record.dry_run),
                    record.count,
                    json.dumps(record.details),
                ),
            ).fetchall()
            return int(row["id"])

    def repairs(self, dataset: str, limit: int = 100) -> list[RepairRecord]:
        """The dataset's recorded repairs, newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM repairs WHERE dataset = ? ORDER BY at DESC, id DESC LIMIT ?", (dataset, limit)
            ).fetchall()
        return [
            RepairRecord(
                dataset=str(r["dataset"]),
                at=float(r["at"]),
                kind=str(r["kind"]),
                dry_run=bool(r["dry_run"]),
                count=int(r["count"]),
                details=json.loads(r["details"]),
                id=int(r["id"]),
            )
            for r in rows
        ]
