"""Where cognee's own tables go: SQLite by default, Postgres beside a Postgres ledger (a
database of their own), or the database ``ledger.cognee_url`` names."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from cognition.errors import ConfigurationError
from cognition.postgres_db import clean
from cognition.settings import LedgerSettings, Settings
from cognition.store.cognee.env import cognee_environment
from cognition.store.cognee.relational import cognee_url, relational_environment


def _settings(url: str | None = None, cognee: str | None = None) -> Settings:
    return Settings(
        data_dir=Path("/tmp/unused"),
        ledger=LedgerSettings(
            url=None if url is None else SecretStr(url),
            cognee_url=None if cognee is None else SecretStr(cognee),
        ),
    )


def test_without_postgres_cognee_keeps_its_sqlite_file() -> None:
    env = cognee_environment(_settings())

    assert env["DB_PROVIDER"] == "sqlite"
    assert not any(name.startswith("DB_HOST") or name == "DB_PASSWORD" for name in env)
    assert cognee_url(_settings()) is None


def test_beside_a_postgres_ledger_cognee_gets_a_database_of_its_own_on_the_same_server() -> None:
    env = relational_environment(_settings("postgresql://ops:s%40cret@db.internal:6432/library"))

    assert env == {
        "DB_PROVIDER": "postgres",
        "DB_HOST": "db.internal",
        "DB_PORT": "6432",
        "DB_USERNAME": "ops",
        "DB_PASSWORD": "s@cret",  # percent-decoded, as cognee builds its own URL from parts
        "DB_NAME": "library_cognee",
        "DATABASE_CONNECT_ARGS": "{}",
    }


def test_an_explicit_cognee_url_wins_and_its_sslmode_reaches_the_driver() -> None:
    env = relational_environment(
        _settings("postgresql://a:b@one/ledger", "postgresql://c:d@two/graphmeta?sslmode=verify-full")
    )

    assert (env["DB_HOST"], env["DB_PORT"], env["DB_NAME"]) == ("two", "5432", "graphmeta")
    assert env["DATABASE_CONNECT_ARGS"] == '{"ssl": "verify-full"}'


def test_an_option_cognee_cannot_pass_on_is_refused_in_one_line_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as refused:
        relational_environment(_settings("postgresql://ops:hunter2@db/library?sslrootcert=/ca.pem"))

    message = str(refused.value)
    assert "sslrootcert" in message and "COGNITION_LEDGER__COGNEE_URL" in message
    assert "hunter2" not in message and "\n" not in message


def test_a_cognee_url_that_is_not_postgres_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a Postgres URL"):
        LedgerSettings(cognee_url=SecretStr("mysql://x:secret@y/z"))


def test_errors_lose_the_password_plainly_or_percent_encoded() -> None:
    url = SecretStr("postgresql://ops:p%40ss@db/library")

    assert clean(ValueError("auth failed for p@ss\nDETAIL: p%40ss"), url) == "auth failed for ***"
