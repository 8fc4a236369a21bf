"""The ledger in Postgres, for workers on several hosts (``ledger.url``). The same SQL as
SQLite (``cognition.ledger.base``), with Postgres's locks where SQLite locks the file: a
claim takes an advisory lock on its document and reads the row ``FOR UPDATE``, so two
processes claiming one document at once, on any hosts, are served one after the other."""

from __future__ import annotations

from contextlib import AbstractContextManager

from pydantic import SecretStr

from cognition.ledger.base import MIGRATIONS, SCHEMAS, SqlLedger
from cognition.ledger.sql import POSTGRES
from cognition.postgres_db import PgDb, pool_for


class PostgresLedger(SqlLedger):
    """The ledger in the Postgres database at ``url``. Cheap to construct (the process's
    connections are shared by URL); the schema is created or migrated on first open."""

    _dialect = POSTGRES

    def __init__(self, url: SecretStr) -> None:
        self._pool = pool_for(url)
        self._pool.ensure_schema(";".join(SCHEMAS), MIGRATIONS)

    def _connect(self) -> AbstractContextManager[PgDb]:
        return self._pool.connect()

    def __repr__(self) -> str:
        return f"PostgresLedger({self._pool.where!r})"
