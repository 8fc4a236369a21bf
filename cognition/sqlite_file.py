"""One SQLite file shared by several local processes (the ledger, its jobs, the API keys):
WAL mode, short transactions, rows by column name.

Each thread of a process keeps one open connection per file (``Connections``): opening one
costs more than the short statements run on it (an API request makes several). Nothing is
held between calls: every statement runs in autocommit mode or in a transaction its caller
ends, and a transaction an error leaves open is rolled back before the connection is used
again, so no lock outlives its call.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

BUSY_SECONDS = 30.0  # how long a statement waits for another process's write


def use_wal(path: Path) -> None:
    """Switch the file to WAL once (the mode is stored in the file). SQLite answers a switch
    that meets another process's lock with "database is locked" at once, without waiting:
    two processes opening a new file together retry, briefly."""
    for _ in range(200):
        try:
            with closing(sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    raise sqlite3.OperationalError(f"{path}: locked by another process for 10 s")


class Connections:
    """One connection to ``path`` per thread (and per process: a forked child opens its own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        try:
            yield db
        finally:
            if db.in_transaction:  # the caller failed between BEGIN and COMMIT
                db.rollback()

    def _connection(self) -> sqlite3.Connection:
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        db.row_factory = sqlite3.Row
        self._local.held = (os.getpid(), db)
        return db
