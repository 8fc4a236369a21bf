"""Money spent on paid models, and the caps a dataset may spend, in the ledger's database.

``spend`` keeps one row per (dataset, job, model) with running totals — calls, input and
output tokens, cost in US dollars — added to after every paid call (a cache hit pays
nothing and adds nothing). Totals, not a row per call: a budget check before each call
sums a dataset's few rows, never a 400-book history. ``budgets`` keeps a dataset's caps.

``SpendLog`` gives the ledger (SQLite or Postgres) these methods; it needs the ledger's
``_connect``.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass

from cognition.ledger.sql import Db, upsert_sql

SPEND_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    dataset TEXT NOT NULL,
    job_id TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (dataset, job_id, model)
);
CREATE TABLE IF NOT EXISTS budgets (
    dataset TEXT PRIMARY KEY,
    max_tokens INTEGER,
    max_cost REAL,
    updated_at REAL NOT NULL
)
"""
SPEND_TABLES = ("spend", "budgets")  # both keyed by ``dataset``


@dataclass(frozen=True)
class Caps:
    """Hard caps on spend: tokens (input and output together) and US dollars; None: no cap."""

    max_tokens: int | None = None
    max_cost: float | None = None

    @property
    def any(self) -> bool:
        return self.max_tokens is not None or self.max_cost is not None


@dataclass(frozen=True)
class Spend:
    """What was paid: by one model, for one dataset (and one job, when ``job_id``)."""

    dataset: str
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    job_id: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class SpendLog:
    """The ``spend`` and ``budgets`` tables, for a ledger on SQLite or Postgres."""

    def _connect(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def add_spend(self, paid: Spend) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO spend VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (dataset, job_id, model) DO UPDATE SET calls = spend.calls + excluded.calls, "
                "input_tokens = spend.input_tokens + excluded.input_tokens, "
                "output_tokens = spend.output_tokens + excluded.output_tokens, "
                "cost = spend.cost + excluded.cost, last_at = excluded.last_at",
                (
                    paid.dataset,
                    paid.job_id,
                    paid.model,
                    paid.calls,
                    paid.input_tokens,
                    paid.output_tokens,
                    paid.cost,
                    now,
                    now,
                ),
            )

    def spend(self, dataset: str | None = None, job_id: str | None = None) -> list[Spend]:
        """Totals by dataset and model (of one dataset, of one job's when given)."""
        query, args = "SELECT dataset, model, SUM(calls) AS calls, SUM(input_tokens) AS i, ", []
        query += "SUM(output_tokens) AS o, SUM(cost) AS cost FROM spend WHERE 1 = 1"
        if dataset is not None:
            query, args = query + " AND dataset = ?", [dataset]
        if job_id is not None:
            query, args = query + " AND job_id = ?", [*args, job_id]
        with self._connect() as db:
            rows = db.execute(query + " GROUP BY dataset, model ORDER BY dataset, model", args).fetchall()
        return [
            Spend(
                str(r["dataset"]),
                str(r["model"]),
                int(r["calls"]),
                int(r["i"]),
                int(r["o"]),
                float(r["cost"]),
                job_id or "",
            )
            for r in rows
        ]

    def set_budget(self, dataset: str, caps: Caps) -> None:
        """Replace a dataset's caps (``Caps()`` removes them)."""
        with self._connect() as db:
            db.execute(
                upsert_sql("budgets", ("dataset", "max_tokens", "max_cost", "updated_at"), ("dataset",)),
                (dataset, caps.max_tokens, caps.max_cost, time.time()),
            )

    def budget(self, dataset: str) -> Caps:
        with self._connect() as db:
            row = db.execute("SELECT * FROM budgets WHERE dataset = ?", (dataset,)).fetchone()
        if row is None:
            return Caps()
        cost = row["max_cost"]
        return Caps(row["max_tokens"], None if cost is None else float(cost))
