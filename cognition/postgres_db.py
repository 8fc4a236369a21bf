"""One Postgres database shared by processes on many hosts (the ledger, its jobs, the API
keys): a few connections per process, in autocommit mode, rows by column name, and the
ledger's common SQL (``?`` placeholders, see ``cognition.ledger.sql``).

A process keeps one ``Pool`` per URL, whatever number of ledgers and key stores it builds
(they are cheap to construct, as on SQLite). A thread takes a connection for one call and
gives it back; a call made inside another call on the same thread gets the same connection
(as SQLite's one connection per thread), so a transaction sees its own writes. A
transaction an error leaves open is rolled back before the connection is used again, a
broken connection is dropped, and so is an idle one the server ended (a Postgres restart
costs no call). The URL holds the password: it stays a ``SecretStr`` and is
shown only as :func:`redact` makes it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import select
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import errors, pq, sql
from psycopg.rows import DictRow, dict_row
from pydantic import SecretStr

from cognition.errors import DatabaseUnavailable
from cognition.ledger.sql import POSTGRES, column_type, schema_statements

CONNECT_SECONDS = 10
MAX_IDLE = 4  # connections a process keeps open between calls
_SCHEMA_LOCK = 0x636F676E  # "cogn": one process at a time creates or migrates the schema


def redact(url: str) -> str:
    """The URL as it may be shown: its password (and any ``password=`` option) as ``***``."""
    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in user:
        user = user.split(":", 1)[0] + ":***"
    query = "&".join(
        "password=***" if item.lower().startswith("password=") else item for item in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, f"{user}{at}{hosts}", parts.path, query, ""))


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``?`` → ``%s``, and a literal ``%`` kept (the common SQL holds no literal ``?``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgDb:
    """A connection that runs the ledger's SQL: ``?`` placeholders become ``%s``."""

    def __init__(self, connection: psycopg.Connection[DictRow]) -> None:
        self.connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[DictRow]:
        return self.connection.execute(_placeholders(sql), tuple(parameters))

    @property
    def in_transaction(self) -> bool:
        return self.connection.info.transaction_status != pq.TransactionStatus.IDLE


class Pool:
    """Connections to one database for this process (see the module's docstring)."""

    def __init__(self, url: SecretStr) -> None:
        self._url = url
        self.where = redact(url.get_secret_value())
        self._idle: list[PgDb] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._pid = os.getpid()
        self._orphans: list[PgDb] = []  # a forked child's copies of its parent's connections
        self._schemas: set[str] = set()

    @contextmanager
    def connect(self) -> Iterator[PgDb]:
        held: PgDb | None = getattr(self._local, "db", None)
        if held is not None and self._pid == os.getpid():
            yield held
            return
        db = self._take()
        self._local.db = db
        try:
            yield db
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"the ledger's Postgres at {self.where}: {self._clean(exc)}") from None
        finally:
            self._local.db = None
            self._give_back(db)

    def ensure_schema(self, schema: str, migrations: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        """Create the tables and add the columns missing (idempotent). Two processes opening
        a new database at once take turns: ``CREATE TABLE IF NOT EXISTS`` alone is not safe
        against a concurrent one in Postgres."""
        if schema in self._schemas:
            return
        with self.connect() as db:
            if _complete(db, schema, migrations):  # the usual case: no DDL, so no table lock
                self._schemas.add(schema)
                return
            db.execute("BEGIN")
            db.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            for statement in schema_statements(schema, POSTGRES):
                db.execute(statement)
            for table, added in migrations.items():
                present = {
                    str(row["column_name"])
                    for row in db.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = ?",
                        (table,),
                    )
                }
                for name, kind in added:  # ALTER TABLE locks the table: only what is missing
                    if name not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {column_type(kind, POSTGRES)}")
            db.execute("COMMIT")
        self._schemas.add(schema)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.connection.close()

    def _take(self) -> PgDb:
        while True:  # the most recently used idle connection the server has not ended
            with self._lock:
                if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use or close
                    self._orphans.extend(self._idle)
                    self._idle, self._pid = [], os.getpid()
                db = self._idle.pop() if self._idle else None
            if db is None:
                break
            if _still_open(db.connection):
                return db
            db.connection.close()  # ended while it was idle (a restart)
        try:
            connection = psycopg.connect(
                self._url.get_secret_value(),
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=CONNECT_SECONDS,
                application_name="cognition",
            )
        except psycopg.Error as exc:
            raise DatabaseUnavailable(
                f"cannot connect to the ledger's Postgres at {self.where}: {self._clean(exc)}"
            ) from None
        return PgDb(connection)

    def _give_back(self, db: PgDb) -> None:
        connection = db.connection
        if not connection.closed and not connection.broken and db.in_transaction:
            try:
                connection.execute("ROLLBACK")  # the caller failed between BEGIN and COMMIT
            except psycopg.Error:
                connection.close()
        if connection.closed or connection.broken:
            connection.close()
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE and self._pid == os.getpid():
                self._idle.append(db)
                return
        connection.close()

    def _clean(self, exc: BaseException) -> str:
        """The first line of a driver's message, with the password (if it appears) removed."""
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        password = urlsplit(self._url.get_secret_value()).password
        return text.replace(password, "***") if password else text


_NAMED = re.compile(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)")


def _complete(db: PgDb, schema: str, migrations: Mapping[str, Sequence[tuple[str, str]]]) -> bool:
    """Whether every table, index and migrated column of ``schema`` exists already."""
    names = _NAMED.findall(schema)
    found = db.execute(
        "SELECT count(*) AS n FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relname = ANY(?)",
        (names,),
    ).fetchone()
    if found is None or int(found["n"]) != len(set(names)):
        return False
    wanted = {(table, name) for table, added in migrations.items() for name, _ in added}
    if not wanted:
        return True
    present = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ANY(?)",
        (list(migrations),),
    ).fetchall()
    return wanted <= {(str(row["table_name"]), str(row["column_name"])) for row in present}


def connect_once(url: SecretStr) -> psycopg.Connection[tuple[Any, ...]]:
    """One autocommit connection outside any pool (an advisory lock's holder, a check); a
    failure is ``DatabaseUnavailable`` without the password."""
    try:
        return psycopg.connect(
            url.get_secret_value(),
            autocommit=True,
            connect_timeout=CONNECT_SECONDS,
            application_name="cognition",
        )
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot connect to Postgres at {redact(url.get_secret_value())}: {clean(exc, url)}"
        ) from None


def create_database(server: SecretStr, name: str) -> None:
    """Create the database ``name`` on ``server``'s cluster unless it exists (two processes
    may race: the loser finds it made)."""
    with connect_once(server) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None:
            return
        try:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            return
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot create the database {name!r}: {clean(exc, server)}") from None


def _still_open(connection: psycopg.Connection[DictRow]) -> bool:
    """Whether an idle connection may be used: it has nothing to read. A server that ends
    a session (a restart, a shutdown, ``pg_terminate_backend``) sends it an error and closes
    the socket, which becomes readable; one ``poll`` (no round trip) sees it, so the call
    that would have failed on it takes another connection instead."""
    if connection.closed or connection.broken:
        return False
    poller = select.poll()  # not select.select: it refuses descriptors past 1023
    try:
        poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def clean(exc: BaseException, *secrets: SecretStr | None) -> str:
    """The first line of an error's message, with any of these secrets removed: a URL's
    password (as written in the URL and percent-decoded), or a plain secret (a password)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for secret in secrets:
        value = "" if secret is None else secret.get_secret_value()
        password = urlsplit(value).password if "://" in value else value
        if password:
            text = text.replace(password, "***").replace(unquote(password), "***")
    return text


_POOLS: dict[str, Pool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(url: SecretStr) -> Pool:
    """This process's pool for ``url`` (one per URL, closed when the process exits)."""
    key = hashlib.sha256(url.get_secret_value().encode()).hexdigest()
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = Pool(url)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in list(_POOLS.values()):
        pool.close()
