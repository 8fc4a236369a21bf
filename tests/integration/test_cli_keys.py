"""``cognition keys`` in a subprocess with its own data directory: a secret is printed once
and works, a listing never shows it, revocation ends it, bad input exits with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cognition.keys import SqliteKeyStore
from tests.helpers import CliRunner, last_json_line


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def keys_in(data_dir: Path) -> SqliteKeyStore:
    return SqliteKeyStore(data_dir / "ledger.sqlite3")


def test_a_created_key_is_shown_once_and_authenticates(run_cli: CliRunner, data_dir: Path) -> None:
    done = run_cli("keys", "create", "ci bot", "--grant", "read:books", "-g", "write:docs", data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert secret.startswith("cog_") and "\n" not in secret  # stdout is the secret alone
    assert "shown once" in done.stderr and "read:books, write:docs" in done.stderr
    key = keys_in(data_dir).authenticate(secret)
    assert key is not None and key.name == "ci bot"
    assert key.allows("docs", "write") and not key.allows("books", "write")


def test_create_json_carries_the_secret_and_the_key(run_cli: CliRunner, data_dir: Path) -> None:
    done = run_cli("keys", "create", "ops", "--grant", "admin:*", "--json", data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    made = last_json_line(done.stdout)
    assert made["grants"] == ["admin:*"] and made["name"] == "ops"
    assert made["secret"].startswith(made["prefix"])
    found = keys_in(data_dir).authenticate(made["secret"])
    assert found is not None and found.id == made["id"] and found.is_admin_of_all()


def test_list_shows_every_key_but_never_a_secret(run_cli: CliRunner, data_dir: Path) -> None:
    made = [
        last_json_line(run_cli("keys", "create", name, "-g", "read:*", "--json", data_dir=data_dir).stdout)
        for name in ("alpha", "beta")
    ]
    assert run_cli("keys", "revoke", made[1]["id"], data_dir=data_dir).returncode == 0

    text = run_cli("keys", "list", data_dir=data_dir)
    listed = json.loads(run_cli("keys", "list", "--json", data_dir=data_dir).stdout)

    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 2
    assert made[0]["id"] in lines[0] and "'alpha'" in lines[0] and "active" in lines[0]
    assert made[1]["id"] in lines[1] and "revoked" in lines[1]
    assert "read:*" in lines[0] and made[0]["prefix"] in lines[0] and "last used never" in lines[0]
    assert [item["id"] for item in listed] == [item["id"] for item in made]
    assert listed[1]["revoked_at"] is not None and listed[0]["revoked_at"] is None
    for item in made:
        assert item["secret"][len(item["prefix"]) :] not in text.stdout + json.dumps(listed)
    assert all("secret" not in item and "secret_hash" not in item for item in listed)


def test_a_revoked_key_stops_working(run_cli: CliRunner, data_dir: Path) -> None:
    made = last_json_line(
        run_cli("keys", "create", "bot", "-g", "read:books", "--json", data_dir=data_dir).stdout
    )

    done = run_cli("keys", "revoke", made["id"], data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    assert made["id"] in done.stdout
    assert keys_in(data_dir).authenticate(made["secret"]) is None


def test_revoking_an_unknown_id_exits_1_saying_so(run_cli: CliRunner, data_dir: Path) -> None:
    done = run_cli("keys", "revoke", "0123456789ab", data_dir=data_dir)

    assert done.returncode == 1
    assert done.stderr.strip() == "error: no API key has the id '0123456789ab' (see `cognition keys list`)"


@pytest.mark.parametrize(
    ("grant", "says"),
    [
        ("books", "expected RIGHT:DATASET"),
        ("owner:books", "expected RIGHT:DATASET"),
        ("read:Books", "invalid dataset name 'Books'"),
    ],
)
def test_a_bad_grant_exits_2_with_one_line(run_cli: CliRunner, data_dir: Path, grant: str, says: str) -> None:
    done = run_cli("keys", "create", "bot", "--grant", grant, data_dir=data_dir)

    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bad grant {grant!r}") and says in lines[0]
    assert keys_in(data_dir).list() == []


def test_a_key_without_a_grant_is_refused(run_cli: CliRunner, data_dir: Path) -> None:
    done = run_cli("keys", "create", "bot", data_dir=data_dir)

    assert done.returncode == 2
    assert "--grant" in done.stderr


def test_no_key_exists_until_one_is_created(run_cli: CliRunner, data_dir: Path) -> None:
    done = run_cli("keys", "list", data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no API keys")
    assert json.loads(run_cli("keys", "list", "--json", data_dir=data_dir).stdout) == []
