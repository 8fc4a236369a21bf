"""API keys in the ledger's database (SQLite or Postgres), table ``api_keys``, holding a hash
of each secret and never the secret itself. The SQL is the ledger's common SQL
(``cognition.ledger.sql``); ``sqlite.py`` and ``postgres.py`` connect and create the table."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from cognition.keys.port import ApiKey, Grant, InvalidGrant, check_key_name, parse_grant
from cognition.ledger.sql import Db, Row

SECRET_PREFIX = "cog_"
_TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 random bits
_SECRET = re.compile(r"cog_[A-Za-z0-9_-]{43}")
_SHOWN = len(SECRET_PREFIX) + 8  # "cog_" and 8 characters (48 bits): enough to tell keys apart
USE_RECORD_SECONDS = 60.0  # last_used_at is written at most once a minute per key

KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    grants TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    last_used_at REAL
);
CREATE INDEX IF NOT EXISTS api_keys_prefix ON api_keys (prefix)
"""


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret. A secret is 256 random bits, not a password a person chose:
    nobody can guess it from its hash, so a slow KDF (bcrypt, scrypt) would only make
    every request slower without making a stolen table any easier to protect."""
    return hashlib.sha256(secret.encode()).hexdigest()


class SqlKeyStore:
    """The ``KeyStore`` over a connection from ``_connect``; every call is a short
    transaction. ``_clock`` is for tests (when ``last_used_at`` is written)."""

    _clock: Callable[[], float]

    def _connect(self) -> AbstractContextManager[Db]:
        raise NotImplementedError

    def create(self, name: str, grants: Sequence[Grant]) -> tuple[ApiKey, str]:
        """A new key with a fresh secret; the secret is returned here and nowhere else."""
        name = check_key_name(name)
        unique = tuple(dict.fromkeys(grants))
        if not unique:
            raise InvalidGrant("a key needs at least one grant (e.g. read:books)")
        secret = SECRET_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        key = ApiKey(
            id=secrets.token_hex(6),
            name=name,
            grants=unique,
            created_at=self._clock(),
            prefix=secret[:_SHOWN],
        )
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_keys (id, name, prefix, secret_hash, grants, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, key.name, key.prefix, hash_secret(secret), _grants_json(unique), key.created_at),
            )
        return key, secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key whose secret this is, else None. Rows are found by the secret's
        non-secret prefix and the hash compared in constant time."""
        if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
            return None
        digest = hash_secret(secret)
        with self._connect() as db:
            rows = db.execute("SELECT * FROM api_keys WHERE prefix = ?", (secret[:_SHOWN],)).fetchall()
        found = next((row for row in rows if hmac.compare_digest(row["secret_hash"], digest)), None)
        if found is None or found["revoked_at"] is not None:
            return None
        return self._record_use(_key(found))

    def _record_use(self, key: ApiKey) -> ApiKey:
        """Write ``last_used_at`` if it is a minute old or more: a busy key costs one write
        a minute, not one per request."""
        now = self._clock()
        if key.last_used_at is not None and now - key.last_used_at < USE_RECORD_SECONDS:
            return key
        with self._connect() as db:
            db.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ? "
                "AND (last_used_at IS NULL OR last_used_at <= ?)",
                (now, key.id, now - USE_RECORD_SECONDS),
            )
        return ApiKey(key.id, key.name, key.grants, key.created_at, key.revoked_at, now, key.prefix)

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        return [_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; True if it exists (a second revocation keeps the first time)."""
        with self._connect() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (self._clock(), key_id),
            )
            return db.execute("SELECT 1 FROM api_keys WHERE id = ?", (key_id,)).fetchone() is not None


def _grants_json(grants: Sequence[Grant]) -> str:
    return json.dumps([{"right": grant.right, "dataset": grant.dataset} for grant in grants])


def _key(row: Row) -> ApiKey:
    grants = tuple(parse_grant(f"{item['right']}:{item['dataset']}") for item in json.loads(row["grants"]))
    return ApiKey(
        id=row["id"],
        name=row["name"],
        grants=grants,
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        prefix=row["prefix"],
    )
