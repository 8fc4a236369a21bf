"""The cache in one SQLite file of the data directory (``cache.sqlite3``), in WAL mode:
shared by every process on the host (workers, the CLI, the API), one connection per thread.

Reads and writes are short statements in batches; a store error (a locked or damaged file)
is logged and answered as misses, or a dropped write, never raised: losing the cache costs
money, failing the import would cost the import.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from cognition.cache.port import Scope
from cognition.sqlite_file import Connections, use_wal

log = logging.getLogger(__name__)

_BATCH = 500  # digests per statement (SQLite allows 32766 variables; keep statements small)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    digest TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    value BLOB NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (model, kind, version, digest)
) WITHOUT ROWID
"""


class SqliteCache:
    """Implements ``cognition.cache.port.ResultCache`` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = Connections(path)
        try:
            use_wal(path)
            with self._connections.connect() as db:
                db.execute(_SCHEMA)
        except sqlite3.Error as exc:  # a damaged file: every lookup misses until it is removed
            log.warning("result cache %s unusable, every lookup misses: %s", path, exc)

    def get_many(self, scope: Scope, digests: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        wanted = list(dict.fromkeys(digests))
        try:
            with self._connections.connect() as db:
                for start in range(0, len(wanted), _BATCH):
                    part = wanted[start : start + _BATCH]
                    rows = db.execute(
                        "SELECT digest, value FROM results WHERE model = ? AND kind = ? AND version = ?"
                        f" AND digest IN ({','.join('?' * len(part))})",
                        (scope.model, scope.kind, scope.version, *part),
                    )
                    found.update((str(row["digest"]), bytes(row["value"])) for row in rows)
        except sqlite3.Error as exc:
            log.warning("result cache unreadable, treated as empty: %s", exc)
            return {}
        return found

    def put_many(self, scope: Scope, values: Mapping[str, bytes]) -> None:
        if not values:
            return
        now = time.time()
        rows = [(key, scope.model, scope.kind, scope.version, value, now) for key, value in values.items()]
        try:
            with self._connections.connect() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)", rows)
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("result cache not written (%d results): %s", len(rows), exc)

    def close(self) -> None:
        """Nothing to release: each thread's connection closes with the thread or process."""
