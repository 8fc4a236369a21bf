"""API keys in the ledger's SQLite file, table ``api_keys`` (WAL: several local processes,
short transactions); the statements are ``cognition.keys.store``'s."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from cognition.keys.store import KEYS_SCHEMA, SECRET_PREFIX, USE_RECORD_SECONDS, SqlKeyStore, hash_secret
from cognition.sqlite_file import Connections, use_wal

__all__ = ["SECRET_PREFIX", "USE_RECORD_SECONDS", "SqliteKeyStore", "hash_secret"]


class SqliteKeyStore(SqlKeyStore):
    """The ``KeyStore`` in a SQLite file. Cheap to construct; every call opens a short
    transaction. ``clock`` is for tests (when ``last_used_at`` is written)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._connections = Connections(path)
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._use_wal()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one process at a time creates the table
            for statement in filter(str.strip, KEYS_SCHEMA.split(";")):
                db.execute(statement)
            db.execute("COMMIT")

    def _use_wal(self) -> None:
        use_wal(self.path)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._connections.connect()
