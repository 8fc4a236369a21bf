"""The key store on a real SQLite file: a secret authenticates its key, only its hash is
kept, revoked and malformed secrets authenticate nothing, use is recorded once a minute."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cognition.keys import Grant, InvalidGrant, SqliteKeyStore, open_keys, parse_grant
from cognition.keys.sqlite import hash_secret
from cognition.ledger import SqliteLedger
from cognition.paths import DataPaths
from cognition.settings import Settings


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(tmp_path: Path, clock: Clock) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "ledger.sqlite3", clock=clock)


def grants(*texts: str) -> list[Grant]:
    return [parse_grant(text) for text in texts]


def test_a_new_secret_authenticates_its_key(keys: SqliteKeyStore) -> None:
    created, secret = keys.create("ci bot", grants("read:books", "write:docs"))

    found = keys.authenticate(secret)

    assert found is not None
    assert (found.id, found.name, found.grants) == (created.id, "ci bot", created.grants)
    assert found.allows("docs", "write") and not found.allows("books", "write")
    assert secret.startswith("cog_") and len(secret) == 47
    assert created.prefix == secret[:12]


def test_each_key_gets_its_own_id_and_secret(keys: SqliteKeyStore) -> None:
    made = [keys.create("same name", grants("read:*")) for _ in range(5)]

    assert len({key.id for key, _ in made}) == 5
    assert len({secret for _, secret in made}) == 5
    assert all(len(key.id) == 12 and int(key.id, 16) >= 0 for key, _ in made)
    assert [keys.authenticate(secret).id for _, secret in made] == [key.id for key, _ in made]  # type: ignore[union-attr]


def test_only_a_hash_of_the_secret_is_stored(keys: SqliteKeyStore, tmp_path: Path) -> None:
    _, secret = keys.create("bot", grants("admin:*"))
    hidden = secret[12:]  # what the shown prefix does not reveal

    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        rows = db.execute("SELECT * FROM api_keys").fetchall()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())

    assert len(rows) == 1
    assert not any(hidden in str(value) for value in rows[0])
    assert hash_secret(secret) in rows[0]
    assert hidden.encode() not in on_disk
    assert hash_secret(secret).encode() in on_disk  # the scan did read the table's pages


def test_a_listing_never_carries_the_secret(keys: SqliteKeyStore) -> None:
    created, secret = keys.create("bot", grants("read:books"))

    listed = keys.list()

    assert [key.id for key in listed] == [created.id]
    assert secret[12:] not in repr(listed)
    assert hash_secret(secret) not in repr(listed)
    assert listed[0].prefix == secret[:12]


def test_a_revoked_key_no_longer_authenticates(keys: SqliteKeyStore, clock: Clock) -> None:
    created, secret = keys.create("bot", grants("read:books"))
    other, other_secret = keys.create("other", grants("read:books"))
    clock.now += 5

    assert keys.revoke(created.id) is True

    assert keys.authenticate(secret) is None
    assert keys.authenticate(other_secret) is not None
    listed = {key.id: key for key in keys.list()}
    assert listed[created.id].revoked_at == clock.now
    assert listed[other.id].revoked_at is None


def test_revoking_twice_keeps_the_first_time(keys: SqliteKeyStore, clock: Clock) -> None:
    created, _ = keys.create("bot", grants("read:books"))
    keys.revoke(created.id)
    first = clock.now
    clock.now += 100

    assert keys.revoke(created.id) is True
    assert keys.list()[0].revoked_at == first


def test_revoking_an_unknown_id_says_so(keys: SqliteKeyStore) -> None:
    keys.create("bot", grants("read:books"))

    assert keys.revoke("0123456789ab") is False
    assert keys.revoke("' OR 1=1 --") is False
    assert all(key.revoked_at is None for key in keys.list())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "cog_",
        "Bearer cog_x",
        "cog_" + "A" * 42,
        "cog_" + "A" * 44,
        "cog_" + "A" * 42 + "!",
        "xyz_" + "A" * 43,
        "cog_" + "A" * 43 + "\n",
        "cog_" + "A" * 10_000,
    ],
)
def test_a_malformed_secret_authenticates_nothing(keys: SqliteKeyStore, bad: str) -> None:
    keys.create("bot", grants("admin:*"))

    assert keys.authenticate(bad) is None


def test_a_wellformed_unknown_secret_authenticates_nothing(keys: SqliteKeyStore) -> None:
    _, secret = keys.create("bot", grants("admin:*"))
    same_prefix = secret[:12] + ("A" if secret[12] != "A" else "B") + secret[13:]

    assert keys.authenticate(same_prefix) is None
    assert keys.authenticate("cog_" + "A" * 43) is None


def test_last_use_is_recorded_at_most_once_a_minute(keys: SqliteKeyStore, clock: Clock) -> None:
    _, secret = keys.create("bot", grants("read:books"))
    assert keys.list()[0].last_used_at is None

    keys.authenticate(secret)
    first = clock.now
    for _ in range(5):  # within the minute: no write
        clock.now += 10
        assert keys.authenticate(secret).last_used_at == first  # type: ignore[union-attr]
    assert keys.list()[0].last_used_at == first

    clock.now = first + 60
    assert keys.authenticate(secret).last_used_at == first + 60  # type: ignore[union-attr]
    assert keys.list()[0].last_used_at == first + 60


def test_a_key_needs_a_grant_and_a_name(keys: SqliteKeyStore) -> None:
    with pytest.raises(InvalidGrant, match="at least one grant"):
        keys.create("bot", [])
    with pytest.raises(InvalidGrant, match="bad key name"):
        keys.create(" ", grants("read:books"))

    assert keys.list() == []


def test_repeated_grants_are_kept_once(keys: SqliteKeyStore) -> None:
    created, _ = keys.create("bot", grants("read:books", "read:books", "write:*"))

    assert [str(g) for g in created.grants] == ["read:books", "write:*"]
    assert keys.list()[0].grants == created.grants


def test_keys_live_in_the_ledgers_file_beside_the_ledger(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ledger_path = DataPaths.of(settings).ledger
    SqliteLedger(ledger_path)

    keys = open_keys(settings)
    created, secret = keys.create("bot", grants("read:books"))

    found = open_keys(settings).authenticate(secret)  # another store on the same file

    assert found is not None and (found.id, found.grants) == (created.id, created.grants)
    with sqlite3.connect(ledger_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"documents", "datasets", "api_keys"} <= tables
    assert mode == "wal"
