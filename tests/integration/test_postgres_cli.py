"""The real CLI with its ledger in Postgres (``COGNITION_LEDGER__URL``): an import writes
its rows there (read here with psycopg, not through the code under test), ``datasets`` and
``search`` read them, and no SQLite ledger appears in the data directory. A server that does
not answer ends a command with one line that does not show the password."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench.postgres_server import PostgresServer
from bench.redis_server import free_port
from tests.helpers import GIT_INTERNALS, CliRunner, last_json_line, write_excerpt

DATASET = "pg-books"


@pytest.fixture(scope="module")
def imported(
    postgres_server: PostgresServer, run_cli: CliRunner, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    """One small excerpt imported by the CLI into a data directory whose ledger is Postgres."""
    folder = tmp_path_factory.mktemp("pg-cli")
    excerpt = write_excerpt(GIT_INTERNALS, range(13, 16), folder / "git-objects.pdf", "Git objects")
    url = postgres_server.create_database("cli_import")
    data_dir = folder / "data"
    done = run_cli(
        "import", str(excerpt), "--dataset", DATASET, "--json", data_dir=data_dir, COGNITION_LEDGER__URL=url
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_json_line(done.stdout)["added"] == 1
    return data_dir, excerpt, url


def test_an_import_writes_its_ledger_rows_to_postgres(imported: tuple[Path, Path, str]) -> None:
    data_dir, excerpt, url = imported

    with psycopg.connect(url) as db:
        documents = db.execute(
            "SELECT dataset, source, state, pages, chunks, owner FROM documents"
        ).fetchall()
        datasets = db.execute("SELECT name, embedding_model FROM datasets").fetchall()

    [(dataset, source, state, pages, chunks, owner)] = documents
    assert (dataset, source, state, pages, owner) == (DATASET, str(excerpt), "stored", 3, None)
    assert chunks > 0
    assert [(name, model is not None) for name, model in datasets] == [(DATASET, True)]
    assert not (data_dir / "ledger.sqlite3").exists()


def test_datasets_and_search_read_the_postgres_ledger(
    imported: tuple[Path, Path, str], run_cli: CliRunner
) -> None:
    data_dir, excerpt, url = imported

    listed = run_cli("datasets", "--json", data_dir=data_dir, COGNITION_LEDGER__URL=url)
    found = run_cli(
        "search",
        "git blob object",
        "--dataset",
        DATASET,
        "--json",
        data_dir=data_dir,
        COGNITION_LEDGER__URL=url,
    )

    assert listed.returncode == 0, listed.stderr[-2000:]
    assert last_json_line(listed.stdout) == {DATASET: {"stored": 1}}
    assert found.returncode == 0, found.stderr[-2000:]
    hits = last_json_line(found.stdout)["hits"]
    assert hits and {hit["source"] for hit in hits} == {str(excerpt)}
    assert not (data_dir / "ledger.sqlite3").exists()


def test_a_ledger_that_does_not_answer_ends_the_command_in_one_line(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    password = "Not-On-Screen-42"
    url = f"postgresql://app:{password}@127.0.0.1:{free_port()}/cognition?connect_timeout=2"

    done = run_cli("datasets", data_dir=tmp_path, COGNITION_LEDGER__URL=url)

    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: cannot connect to the ledger's Postgres at postgresql://app:***@127.0.0.1:"
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert password not in done.stderr + done.stdout
