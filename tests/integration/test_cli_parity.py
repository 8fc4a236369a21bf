"""The CLI does what the API does (issue 10, part 7): documents with their reasons, deletes
that ask first, ``--version`` and ``-h``, unknown datasets answered from the ledger before
cognee starts, defaults in ``--help``, and searches answered by a running server. Each
command is the real CLI in a process of its own, on a data directory of its own."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from bench.redis_server import free_port
from cognition.ledger.sqlite import SqliteLedger
from cognition.paths import DataPaths
from tests.helpers import (
    CLI_TIMEOUT,
    GIT_INTERNALS,
    REPO_ROOT,
    CliRunner,
    cli_command,
    last_json_line,
    subprocess_env,
    write_excerpt,
)

QUESTION = "how does git store the contents of a file"


@pytest.fixture
def two_datasets(tmp_path: Path) -> Path:
    """A data directory whose ledger knows datasets a and b, and where cognee never ran."""
    data_dir = tmp_path / "data"
    ledger = SqliteLedger(DataPaths(data_dir).ledger)
    ledger.register_dataset("a")
    ledger.register_dataset("b")
    return data_dir


# --------------------------------------------------------------------------- flags and help


def test_version_comes_from_the_package_metadata(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("--version", data_dir=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cognition {version('cognition')}"


@pytest.mark.parametrize("command", [[], ["search"], ["documents"], ["serve"], ["keys", "create"]])
def test_dash_h_is_help_everywhere(run_cli: CliRunner, tmp_path: Path, command: list[str]) -> None:
    done = run_cli(*command, "-h", data_dir=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "--help" in done.stdout


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("search", ["[default: hybrid]", "[default: 5, search.top_k]"]),
        ("documents", ["[default: 50, api.page_size]"]),
        ("serve", ["[default: 127.0.0.1, api.host]", "[default: 8765, api.port]"]),
    ],
)
def test_help_shows_the_defaults(run_cli: CliRunner, tmp_path: Path, command: str, shown: list[str]) -> None:
    done = run_cli(command, "--help", data_dir=tmp_path, COLUMNS="200")

    assert done.returncode == 0, done.stderr
    for text in shown:
        assert text in done.stdout


# --------------------------------------------------------------------------- unknown datasets


@pytest.mark.parametrize(
    "command",
    [
        ["search", "q", "-d", "nope"],
        ["search", "q", "-d", "a", "-d", "nope", "--json"],
        ["documents", "-d", "nope"],
        ["describe", "nope"],
        ["delete-document", "-d", "nope", "some-id", "--yes"],
        ["delete-dataset", "nope", "--yes"],
    ],
)
def test_an_unknown_dataset_is_answered_from_the_ledger_with_the_names_that_exist(
    run_cli: CliRunner, two_datasets: Path, command: list[str]
) -> None:
    done = run_cli(*command, data_dir=two_datasets)

    assert done.returncode == 2
    assert done.stderr.strip() == "error: no dataset named 'nope'; datasets: a, b"
    assert not DataPaths(two_datasets).cognee.exists()  # cognee never started


def test_an_unknown_dataset_in_an_empty_data_directory(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("search", "q", "-d", "nope", data_dir=tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip() == "error: no dataset named 'nope'; there are no datasets yet"


# --------------------------------------------------------------------------- documents and deletes


@pytest.fixture
def mistaken_import(run_cli: CliRunner, tmp_path: Path) -> Path:
    """A data directory where ``import /nope -d x`` left dataset x with one failed row."""
    data_dir = tmp_path / "data"
    done = run_cli("import", "/nope", "-d", "x", data_dir=data_dir)
    assert done.returncode == 1, done.stderr[-2000:]
    return data_dir


def test_documents_show_state_and_the_reason_a_document_failed(
    run_cli: CliRunner, mistaken_import: Path
) -> None:
    text = run_cli("documents", "-d", "x", data_dir=mistaken_import)
    page = run_cli("documents", "-d", "x", "--json", data_dir=mistaken_import)

    assert text.returncode == 0, text.stderr
    first, reason = text.stdout.splitlines()
    assert " failed " in first and first.endswith("/nope")
    assert reason == "    reason: unreadable path: /nope does not exist or is not a file"
    body = json.loads(page.stdout)
    assert body["next_cursor"] is None
    [document] = body["documents"]
    assert (document["state"], document["source"], document["dataset"]) == ("failed", "/nope", "x")
    assert document["error"] == "unreadable path: /nope does not exist or is not a file"


def test_documents_filter_by_state_and_refuse_an_unknown_one(
    run_cli: CliRunner, mistaken_import: Path
) -> None:
    stored = run_cli("documents", "-d", "x", "--state", "stored", data_dir=mistaken_import)
    unknown = run_cli("documents", "-d", "x", "--state", "broken", data_dir=mistaken_import)
    bad_cursor = run_cli("documents", "-d", "x", "--cursor", "not-a-cursor!", data_dir=mistaken_import)

    assert (stored.returncode, stored.stdout.strip()) == (0, "no documents in state stored in dataset x")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown state 'broken': use one of queued, reading,")
    assert bad_cursor.returncode == 2
    assert bad_cursor.stderr.startswith("error: not a cursor this server gave")


def test_documents_page_with_a_cursor(run_cli: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    done = run_cli("import", "/nope1", "/nope2", "/nope3", "-d", "x", data_dir=data_dir)
    assert done.returncode == 1, done.stderr[-2000:]

    first = json.loads(run_cli("documents", "-d", "x", "--limit", "2", "--json", data_dir=data_dir).stdout)
    rest = json.loads(
        run_cli("documents", "-d", "x", "--cursor", first["next_cursor"], "--json", data_dir=data_dir).stdout
    )

    assert [d["source"] for d in first["documents"] + rest["documents"]] == ["/nope1", "/nope2", "/nope3"]
    assert rest["next_cursor"] is None


def test_a_delete_without_a_terminal_or_yes_is_refused(run_cli: CliRunner, mistaken_import: Path) -> None:
    doc_id = json.loads(run_cli("documents", "-d", "x", "--json", data_dir=mistaken_import).stdout)[
        "documents"
    ][0]["document_id"]

    dataset = run_cli("delete-dataset", "x", data_dir=mistaken_import)
    document = run_cli("delete-document", "-d", "x", doc_id, data_dir=mistaken_import)

    for done in (dataset, document):
        assert done.returncode == 2
        assert done.stderr.strip() == (
            "error: refusing to delete without confirmation: stdin is not a terminal; pass --yes"
        )
    assert SqliteLedger(DataPaths(mistaken_import).ledger).get("x", doc_id) is not None


def test_a_delete_asks_on_a_terminal_and_no_keeps_everything(mistaken_import: Path) -> None:
    main, child = pty.openpty()
    try:
        process = subprocess.Popen(
            cli_command("delete-dataset", "x"),
            cwd=REPO_ROOT,
            env=subprocess_env(mistaken_import),
            stdin=child,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(main, b"n\n")
        _, err = process.communicate(timeout=CLI_TIMEOUT)
    finally:
        os.close(main)
        os.close(child)

    assert process.returncode == 1, err
    assert "Delete dataset x and its 1 document(s)" in err and "nothing deleted" in err
    assert SqliteLedger(DataPaths(mistaken_import).ledger).datasets() == ["x"]


def test_delete_document_removes_its_row(run_cli: CliRunner, mistaken_import: Path) -> None:
    doc_id = json.loads(run_cli("documents", "-d", "x", "--json", data_dir=mistaken_import).stdout)[
        "documents"
    ][0]["document_id"]

    done = run_cli("delete-document", "-d", "x", doc_id, "--yes", data_dir=mistaken_import)
    again = run_cli("delete-document", "-d", "x", doc_id, "--yes", data_dir=mistaken_import)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"deleted document {doc_id} (/nope) from dataset x"
    assert run_cli("documents", "-d", "x", data_dir=mistaken_import).stdout.strip() == (
        "no documents in dataset x"
    )
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"error: document not found: '{doc_id}' in dataset x (see `cognition documents -d x`)"
    )


def test_a_mistaken_import_can_be_deleted(run_cli: CliRunner, mistaken_import: Path) -> None:
    done = run_cli("delete-dataset", "x", "--yes", data_dir=mistaken_import)
    listed = run_cli("datasets", "--json", data_dir=mistaken_import)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "deleted dataset x (1 document(s))"
    assert json.loads(listed.stdout) == {}


def test_a_stored_dataset_is_deleted_and_no_longer_searchable(run_cli: CliRunner, tmp_path: Path) -> None:
    excerpt = write_excerpt(GIT_INTERNALS, range(13, 15), tmp_path / "git.pdf", "Git objects")
    data_dir = tmp_path / "data"
    imported = run_cli("import", str(excerpt), "-d", "gone", "--json", data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr[-2000:]

    done = run_cli("delete-dataset", "gone", "--yes", data_dir=data_dir)
    search = run_cli("search", QUESTION, "-d", "gone", data_dir=data_dir)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "deleted dataset gone (1 document(s))"
    assert search.returncode == 2
    assert search.stderr.strip() == "error: no dataset named 'gone'; there are no datasets yet"


# --------------------------------------------------------------------------- serve


def test_serve_refuses_a_configured_address_beyond_loopback(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("serve", data_dir=tmp_path, COGNITION_API__HOST="0.0.0.0")

    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: api.host is '0.0.0.0', not a loopback address: to listen beyond this host, "
        "pass --host 0.0.0.0"
    )
    assert not DataPaths(tmp_path).server_file.exists()


@dataclass(frozen=True)
class Served:
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    port: int


def _wait_for_card(served: Served) -> dict[str, object]:
    card = DataPaths(served.data_dir).server_file
    deadline = time.monotonic() + CLI_TIMEOUT
    while time.monotonic() < deadline and served.process.poll() is None:
        if card.exists():
            return dict(json.loads(card.read_text()))
        time.sleep(0.2)
    raise AssertionError(f"the server wrote no card: {served.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(run_cli: CliRunner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``cognition serve`` on a free loopback port, over a data directory with one small
    imported excerpt (dataset ``git``)."""
    folder = tmp_path_factory.mktemp("served")
    excerpt = write_excerpt(GIT_INTERNALS, range(13, 18), folder / "git-objects.pdf", "Git objects")
    data_dir = folder / "data"
    imported = run_cli("import", str(excerpt), "-d", "git", "--json", data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr[-2000:]
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            cli_command("serve", "--port", str(port)),
            cwd=REPO_ROOT,
            env=subprocess_env(data_dir, COGNITION_LOG_LEVEL="INFO"),  # a line per request
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    found = Served(data_dir, process, log, port)
    try:
        _wait_for_card(found)
        yield found
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=60)


def test_the_server_card_is_private_and_names_the_server(served: Served) -> None:
    card = DataPaths(served.data_dir).server_file

    data = json.loads(card.read_text())

    assert card.stat().st_mode & 0o777 == 0o600
    assert data["url"] == f"http://127.0.0.1:{served.port}"
    assert data["pid"] == served.process.pid
    assert isinstance(data["token"], str) and len(data["token"]) >= 40


def test_search_is_answered_by_the_running_server_with_the_same_hits(
    served: Served, run_cli: CliRunner
) -> None:
    by_server = run_cli("search", QUESTION, "-d", "git", "--json", data_dir=served.data_dir)
    here = run_cli("search", QUESTION, "-d", "git", "--json", "--local", data_dir=served.data_dir)

    assert by_server.returncode == 0, by_server.stderr[-2000:]
    assert here.returncode == 0, here.stderr[-2000:]
    server_body, local_body = last_json_line(by_server.stdout), last_json_line(here.stdout)
    assert (server_body["answered_by"], local_body["answered_by"]) == ("server", "process")
    assert "POST /v1/search" in served.log.read_text()
    assert server_body["hits"], "the search found nothing"
    assert [(h["chunk_id"], h["text"]) for h in server_body["hits"]] == [
        (h["chunk_id"], h["text"]) for h in local_body["hits"]
    ]
    assert [h["score"] for h in server_body["hits"]] == pytest.approx(
        [h["score"] for h in local_body["hits"]], abs=1e-4
    )
    drop = {"answered_by", "hits"}
    assert {k: v for k, v in server_body.items() if k not in drop} == {
        k: v for k, v in local_body.items() if k not in drop
    }


def test_search_prints_the_same_text_through_the_server(served: Served, run_cli: CliRunner) -> None:
    by_server = run_cli("search", QUESTION, "-d", "git", "-k", "3", data_dir=served.data_dir)
    here = run_cli("search", QUESTION, "-d", "git", "-k", "3", "--local", data_dir=served.data_dir)

    assert by_server.returncode == 0, by_server.stderr[-2000:]
    assert by_server.stdout == here.stdout
    assert by_server.stdout.startswith("1. [git] Git objects")


def test_a_search_error_reads_the_same_with_a_server_running(served: Served, run_cli: CliRunner) -> None:
    done = run_cli("search", "git", "-d", "git", "--mode", "fuzzy", data_dir=served.data_dir)

    assert done.returncode == 2
    assert done.stderr.strip() == "error: unknown mode 'fuzzy': use one of vector, graph, hybrid"


def test_describe_and_documents_count_the_stored_excerpt(served: Served, run_cli: CliRunner) -> None:
    described = run_cli("describe", "git", "--json", data_dir=served.data_dir)
    listed = run_cli("documents", "-d", "git", data_dir=served.data_dir)

    assert described.returncode == 0, described.stderr[-2000:]
    body = last_json_line(described.stdout)
    assert (body["name"], body["documents"], body["pending"], body["pages"]) == ("git", {"stored": 1}, 0, 5)
    assert body["stats"]["chunks"] == body["chunks"] >= 1
    [line] = listed.stdout.splitlines()
    assert " stored " in line and "pages 5 " in line and line.endswith("git-objects.pdf  'Git objects'")


def test_a_second_server_on_the_same_data_directory_is_refused(served: Served, run_cli: CliRunner) -> None:
    done = run_cli("serve", "--port", str(free_port()), data_dir=served.data_dir)

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: a server already serves this data directory at http://127.0.0.1:{served.port} "
        f"(pid {served.process.pid})"
    )


def test_a_delete_goes_through_the_running_server_which_then_serves_the_dataset_made_again(
    served: Served, run_cli: CliRunner
) -> None:
    """The server that holds a dataset's cached state (its store space, vector table handle
    and graph) is the one that deletes it, so it drops them; the CLI no longer deletes files
    under its feet."""
    excerpt = served.data_dir.parent / "git-objects.pdf"
    for _ in range(2):  # made, searched through the server, deleted; made again, searched
        imported = run_cli("import", str(excerpt), "-d", "again", "--json", data_dir=served.data_dir)
        assert imported.returncode == 0, imported.stderr[-2000:]
        found = run_cli("search", QUESTION, "-d", "again", "--json", data_dir=served.data_dir)
        assert found.returncode == 0, found.stderr[-2000:]
        body = last_json_line(found.stdout)
        assert body["answered_by"] == "server" and body["hits"], body
        deleted = run_cli("delete-dataset", "again", "--yes", data_dir=served.data_dir)
        assert deleted.returncode == 0, deleted.stderr[-2000:]
        assert deleted.stdout.strip() == "deleted dataset again (1 document(s))"
    assert "DELETE /v1/datasets/again" in served.log.read_text()
    gone = run_cli("search", QUESTION, "-d", "again", data_dir=served.data_dir)
    assert gone.returncode == 2 and "no dataset named 'again'" in gone.stderr


def test_a_stopped_server_removes_its_card_and_search_answers_here(
    served: Served, run_cli: CliRunner
) -> None:
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=120)

    done = run_cli("search", QUESTION, "-d", "git", "--json", data_dir=served.data_dir)

    assert not DataPaths(served.data_dir).server_file.exists()
    assert done.returncode == 0, done.stderr[-2000:]
    assert last_json_line(done.stdout)["answered_by"] == "process"
