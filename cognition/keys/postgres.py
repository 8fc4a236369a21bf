"""API keys in the ledger's Postgres database (``ledger.url``), table ``api_keys``: every
API process on every host authenticates against the same keys. The statements are
``cognition.keys.store``'s."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from pydantic import SecretStr

from cognition.keys.store import KEYS_SCHEMA, SqlKeyStore
from cognition.postgres_db import PgDb, pool_for


class PostgresKeyStore(SqlKeyStore):
    """The ``KeyStore`` in the Postgres database at ``url`` (connections shared with the
    ledger's by URL); the table is created on first open."""

    def __init__(self, url: SecretStr, clock: Callable[[], float] = time.time) -> None:
        self._pool = pool_for(url)
        self._clock = clock
        self._pool.ensure_schema(KEYS_SCHEMA, {})

    def _connect(self) -> AbstractContextManager[PgDb]:
        return self._pool.connect()

    def __repr__(self) -> str:
        return f"PostgresKeyStore({self._pool.where!r})"
