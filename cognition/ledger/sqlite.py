"""The ledger in a SQLite file in the data directory (WAL mode: safe for several local
processes). See ``cognition.ledger.port`` for what it records; its SQL is
``cognition.ledger.base``, shared with Postgres."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from cognition.ledger.base import MIGRATIONS, SCHEMAS, SqlLedger
from cognition.ledger.sql import SQLITE, schema_statements
from cognition.sqlite_file import Connections, use_wal


class SqliteLedger(SqlLedger):
    """The ledger in a SQLite file (WAL: safe for several local processes). Cheap to
    construct; every call opens a short transaction."""

    _dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connections = Connections(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._use_wal()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one process at a time creates or migrates the schema
            for statement in schema_statements(";".join(SCHEMAS), SQLITE):  # executescript would commit
                db.execute(statement)
            for table, added in MIGRATIONS.items():  # older ledgers
                columns = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in added:
                    if name not in columns:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            db.execute("COMMIT")

    def _use_wal(self) -> None:
        use_wal(self.path)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._connections.connect()
