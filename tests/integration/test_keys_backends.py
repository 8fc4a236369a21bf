"""The key store on SQLite and on Postgres, and the ledger's URL: a bad one is refused in one
line, an unreachable or refusing server is a ``DatabaseUnavailable``, and the password
appears in no error, repr or listing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from bench.postgres_server import PostgresServer
from bench.redis_server import free_port
from cognition.errors import ConfigurationError, DatabaseUnavailable
from cognition.keys import KeyStore, open_keys, parse_grant
from cognition.keys.postgres import PostgresKeyStore
from cognition.keys.sqlite import SqliteKeyStore, hash_secret
from cognition.ledger import open_ledger
from cognition.ledger.postgres import PostgresLedger
from cognition.settings import LedgerSettings, Settings, get_settings
from tests.integration.ledger_backends import BACKENDS, backend_settings, url_of

PASSWORD = "Hunter2-not-shown"


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return backend_settings(request, tmp_path / "data")


@pytest.fixture
def keys(settings: Settings) -> KeyStore:
    return open_keys(settings)


def rows_of(settings: Settings) -> list[tuple[Any, ...]]:
    """The ``api_keys`` table as stored, read without the code under test."""
    url = url_of(settings)
    if url is None:
        with sqlite3.connect(settings.resolved_data_dir / "ledger.sqlite3") as db:
            return db.execute("SELECT * FROM api_keys").fetchall()
    with psycopg.connect(url) as db:
        return db.execute("SELECT * FROM api_keys").fetchall()


def test_the_settings_choose_the_key_store(settings: Settings, keys: KeyStore) -> None:
    assert type(keys) is (SqliteKeyStore if settings.ledger.url is None else PostgresKeyStore)


def test_a_secret_authenticates_its_key_in_another_store_until_revoked(
    settings: Settings, keys: KeyStore
) -> None:
    created, secret = keys.create("ci bot", [parse_grant("read:books"), parse_grant("write:docs")])
    elsewhere = open_keys(settings)  # another process's store on the same database

    found = elsewhere.authenticate(secret)
    revoked = elsewhere.revoke(created.id)

    assert found is not None and (found.id, found.grants) == (created.id, created.grants)
    assert found.allows("docs", "write") and not found.allows("books", "write")
    assert revoked and keys.authenticate(secret) is None
    assert not keys.revoke("no-such-key")
    listed = keys.list()
    assert [(k.id, k.revoked) for k in listed] == [(created.id, True)]
    assert secret not in repr(listed)


def test_only_a_hash_of_the_secret_is_stored(settings: Settings, keys: KeyStore) -> None:
    _, secret = keys.create("bot", [parse_grant("admin:*")])

    [row] = rows_of(settings)

    assert hash_secret(secret) in row
    assert not any(secret[12:] in str(value) for value in row)


def test_a_malformed_or_unknown_secret_authenticates_nothing(keys: KeyStore) -> None:
    keys.create("bot", [parse_grant("read:*")])

    assert keys.authenticate("cog_" + "A" * 43) is None
    assert keys.authenticate("not a secret") is None


def test_last_use_is_recorded_at_most_once_a_minute(settings: Settings) -> None:
    now = [1_000.0]
    url = settings.ledger.url
    keys: KeyStore
    if url is None:
        keys = SqliteKeyStore(settings.resolved_data_dir / "ledger.sqlite3", clock=lambda: now[0])
    else:
        keys = PostgresKeyStore(url, clock=lambda: now[0])
    _, secret = keys.create("bot", [parse_grant("read:*")])

    seen = []
    for at in (1_010.0, 1_030.0, 1_075.0):
        now[0] = at
        keys.authenticate(secret)
        seen.append(keys.list()[0].last_used_at)

    assert seen == [1_010.0, 1_010.0, 1_075.0]


# --------------------------------------------------------------------------- the URL


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """``COGNITION_*`` variables for ``get_settings`` (its cache cleared before and after)."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"mysql://app:{PASSWORD}@db:3306/cognition", "not a Postgres URL (scheme 'mysql')"),
        (f"app:{PASSWORD}@db:5432/cognition", "not a URL"),
        (f"postgresql://app:{PASSWORD}@db:port/cognition", "the URL's port is not a number"),
        (f"postgresql://app:{PASSWORD}@db:5432", "the URL names no database"),
        (f"postgresql://app:{PASSWORD}@/cognition", "the URL names no host"),
    ],
)
def test_a_bad_url_is_refused_in_one_line_without_its_password(
    environment: pytest.MonkeyPatch, url: str, message: str
) -> None:
    environment.setenv("COGNITION_LEDGER__URL", url)

    with pytest.raises(ConfigurationError) as raised:
        get_settings()

    text = str(raised.value)
    assert text.startswith(f"COGNITION_LEDGER__URL: {message}: expected postgresql://")
    assert PASSWORD not in text and "\n" not in text
    with pytest.raises(ValueError) as direct:  # built in code: the same, never the value
        Settings(ledger={"url": url})  # type: ignore[arg-type]
    assert PASSWORD not in str(direct.value)


def test_a_server_that_does_not_answer_is_unavailable_without_the_password() -> None:
    url = SecretStr(f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/cognition?connect_timeout=2")

    with pytest.raises(DatabaseUnavailable) as raised:
        PostgresLedger(url)

    text = str(raised.value)
    assert text.startswith("cannot connect to the ledger's Postgres at postgresql://app:***@127.0.0.1:")
    assert PASSWORD not in text and raised.value.retryable


def test_a_wrong_password_is_refused_without_showing_either(postgres_server: PostgresServer) -> None:
    wrong = postgres_server.url().replace(postgres_server.password, PASSWORD)

    with pytest.raises(DatabaseUnavailable) as raised:
        open_keys(Settings(ledger=LedgerSettings(url=SecretStr(wrong))))

    text = str(raised.value)
    assert "password authentication failed" in text
    assert PASSWORD not in text and postgres_server.password not in text


def test_no_repr_shows_the_password(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.create_database("repr_check")
    settings = Settings(data_dir=tmp_path, ledger=LedgerSettings(url=SecretStr(url)))

    shown = [repr(settings), str(settings), repr(open_ledger(settings)), repr(open_keys(settings))]
    shown.append(settings.model_dump_json())

    assert all(postgres_server.password not in text for text in shown)
    assert "PostgresLedger('postgresql://cognition:***@127.0.0.1:" in shown[2]


def test_an_older_postgres_ledger_gets_the_new_columns_when_opened(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("older_ledger")
    with psycopg.connect(url, autocommit=True) as db:  # the first release's tables, one row
        db.execute(
            "CREATE TABLE datasets (name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', "
            "version BIGINT NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL)"
        )
        db.execute("INSERT INTO datasets VALUES ('books', 'old', 7, 1.0)")

    ledger = open_ledger(Settings(ledger=LedgerSettings(url=SecretStr(url))))
    ledger.set_embedding("books", "minilm", 384)

    found = ledger.dataset("books")
    assert found is not None and (found.description, found.version, found.embedding_model) == (
        "old",
        7,
        "minilm",
    )
    assert ledger.jobs() == [] and ledger.audits("books") == []  # the tables added since exist
