"""cognee's own relational tables (datasets, users, permissions, pipeline runs): SQLite in
the data directory, or Postgres for processes on several hosts.

On SQLite every process writes one file, which is cognee's known "database is locked" and
cannot be shared by hosts. With ``ledger.cognee_url``, or by default whenever the ledger is
on Postgres (``ledger.url``), cognee's tables go to a Postgres database of their own: never
the ledger's, since both hold ``datasets`` and ``results`` tables and cognee's prune drops
every table of the ``public`` schema. Derived from the ledger's URL, it is the same server
and user with the database ``<ledger database>_cognee``, created by the first process that
starts (when the user has ``CREATEDB``; otherwise create it, or name another, and say so
with ``COGNITION_LEDGER__COGNEE_URL``).

cognee reads its database from ``DB_*`` variables, so its password is in this process's
environment (as it must be for cognee); it is never logged or put in an error here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from pydantic import SecretStr

from cognition.errors import ConfigurationError, DatabaseUnavailable
from cognition.settings import Settings

SUFFIX = "_cognee"
_SETUP_LOCK = 0x636F676E_65  # one process at a time creates cognee's tables on a shared server
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def cognee_url(settings: Settings) -> SecretStr | None:
    """The Postgres URL of cognee's tables, or None for SQLite in the data directory."""
    if settings.ledger.cognee_url is not None:
        return settings.ledger.cognee_url
    if settings.ledger.url is None:
        return None
    parts = urlsplit(settings.ledger.url.get_secret_value())
    database = unquote(parts.path.strip("/")) + SUFFIX
    return SecretStr(urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, "")))


def relational_environment(settings: Settings) -> dict[str, str]:
    """cognee's ``DB_*`` variables: its SQLite default, or the Postgres ``cognee_url`` names."""
    url = cognee_url(settings)
    if url is None:
        return {"DB_PROVIDER": "sqlite"}
    parts = urlsplit(url.get_secret_value())
    options = dict(parse_qsl(parts.query))
    unsupported = sorted(set(options) - {"sslmode"})
    if unsupported or (options.get("sslmode", "prefer") not in _SSL_MODES):
        named = ", ".join(unsupported) or f"sslmode={options['sslmode']}"
        raise ConfigurationError(
            "cognee's database (COGNITION_LEDGER__COGNEE_URL, else derived from COGNITION_LEDGER__URL) "
            f"takes only the option sslmode, not {named}: "
            "set COGNITION_LEDGER__COGNEE_URL to a URL without it"
        )
    if not parts.hostname or "," in parts.netloc:
        raise ConfigurationError("COGNITION_LEDGER__COGNEE_URL: cognee's database needs one host in the URL")
    connect = {"ssl": options["sslmode"]} if "sslmode" in options else {}
    return {
        "DB_PROVIDER": "postgres",
        "DB_HOST": parts.hostname,
        "DB_PORT": str(parts.port or 5432),
        "DB_USERNAME": unquote(parts.username or ""),
        "DB_PASSWORD": unquote(parts.password or ""),
        "DB_NAME": unquote(parts.path.strip("/")),
        "DATABASE_CONNECT_ARGS": json.dumps(connect),
    }


def ensure_database(settings: Settings) -> None:
    """Create the derived database ``<ledger database>_cognee`` if it is missing (a URL set
    explicitly names a database its operator made)."""
    url = cognee_url(settings)
    if url is None or settings.ledger.cognee_url is not None or settings.ledger.url is None:
        return
    from cognition.postgres_db import create_database

    name = unquote(urlsplit(url.get_secret_value()).path.strip("/"))
    try:
        create_database(settings.ledger.url, name)
    except DatabaseUnavailable as exc:
        raise DatabaseUnavailable(
            f"{exc} (cognee's tables; create it, or name another with COGNITION_LEDGER__COGNEE_URL)"
        ) from None


@contextlib.asynccontextmanager
async def setup_lock(settings: Settings) -> AsyncIterator[None]:
    """Processes on several hosts take turns creating cognee's tables and its default user
    (a file lock reaches one host only): a Postgres advisory lock on cognee's database, held
    by a connection of its own (closing it releases the lock, if its holder dies too)."""
    url = cognee_url(settings)
    if url is None:
        yield
        return
    from cognition.postgres_db import connect_once

    db = await asyncio.to_thread(connect_once, url)
    try:
        await asyncio.to_thread(db.execute, "SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        yield
    finally:
        await asyncio.to_thread(db.close)
