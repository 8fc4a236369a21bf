"""An import killed in the middle resumes on the next run, and the result equals an
uninterrupted import of the same book."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cognition.ledger import DocumentRecord, SqliteLedger
from cognition.paths import DataPaths
from tests.helpers import (
    GIT_INTERNALS,
    REPO_ROOT,
    CliRunner,
    ImportedBook,
    StatsReader,
    cli_command,
    last_json_line,
    subprocess_env,
)

pytestmark = pytest.mark.slow

DATASET = "books"
POLL_SECONDS = 0.1
DEADLINE_SECONDS = 600
KILLED_BATCH = 10


@dataclass(frozen=True)
class Interrupted:
    data_dir: Path
    state_when_killed: str
    partial: dict[str, int]
    overview_after_kill: dict[str, dict[str, int]]
    rerun: subprocess.CompletedProcess[str]
    final: dict[str, int]
    records: list[DocumentRecord]


def _ledger_state(path: Path) -> tuple[str, int] | None:
    """The document's state and chunks stored so far, as another process sees them
    (read-only, while the import runs)."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as db:
            row = db.execute("SELECT state, chunks FROM documents WHERE dataset = ?", (DATASET,)).fetchone()
    except sqlite3.OperationalError:  # the schema is still being created
        return None
    return None if row is None else (str(row[0]), int(row[1] or 0))


def _import_until_stored_in_part(data_dir: Path, log: Path) -> str:
    """Start the CLI import and SIGKILL it once the ledger shows some of its chunks stored."""
    with log.open("w") as output:
        process = subprocess.Popen(
            cli_command("import", str(GIT_INTERNALS), "--dataset", DATASET, "--json"),
            cwd=REPO_ROOT,
            # Small batches: the book (166 chunks) is stored in 17 writes, so the kill lands
            # between two of them, not after the last (with 100 it could, and once did).
            env=subprocess_env(data_dir, COGNITION_IMPORTS__CHUNKS_PER_BATCH=str(KILLED_BATCH)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        state: tuple[str, int] | None = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            state = _ledger_state(data_dir / "ledger.sqlite3")
            if state is not None and state[0] == "storing" and state[1] > 0:
                break
            time.sleep(POLL_SECONDS)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        returncode = process.wait(timeout=60)
    if state is None or state[0] != "storing" or state[1] == 0:
        output = log.read_text()[-2000:]
        pytest.fail(f"the import ended (exit {returncode}) before it could be killed mid-document: {output}")
    assert returncode == -signal.SIGKILL
    return state[0]


@pytest.fixture(scope="module")
def interrupted(
    bench: Path,
    tmp_path_factory: pytest.TempPathFactory,
    run_cli: CliRunner,
    stats_in_subprocess: StatsReader,
) -> Interrupted:
    data_dir = tmp_path_factory.mktemp("interrupted")
    state = _import_until_stored_in_part(data_dir, data_dir.parent / f"{data_dir.name}-killed.log")
    partial = stats_in_subprocess(data_dir, DATASET)[DATASET]
    overview = json.loads(run_cli("datasets", "--json", data_dir=data_dir).stdout)
    rerun = run_cli("import", str(GIT_INTERNALS), "--dataset", DATASET, "--json", data_dir=data_dir)
    final = stats_in_subprocess(data_dir, DATASET)[DATASET]
    records = SqliteLedger(DataPaths(data_dir).ledger).documents(DATASET)
    return Interrupted(data_dir, state, partial, overview, rerun, final, records)


def test_the_kill_left_a_partial_document(interrupted: Interrupted) -> None:
    assert interrupted.state_when_killed == "storing"
    assert interrupted.overview_after_kill == {DATASET: {"interrupted": 1}}  # its process is gone
    assert interrupted.partial["documents"] == 1
    assert 0 < interrupted.partial["chunks"] < interrupted.final["chunks"]


def test_the_rerun_completes_the_document(interrupted: Interrupted) -> None:
    assert interrupted.rerun.returncode == 0, interrupted.rerun.stderr[-3000:]
    summary = last_json_line(interrupted.rerun.stdout)
    [record] = interrupted.records

    assert (summary["added"], summary["skipped"], summary["failed"]) == (1, 0, [])
    assert summary["chunks"] == interrupted.final["chunks"]
    assert (record.state, record.attempts, record.chunks) == ("stored", 2, interrupted.final["chunks"])


def test_the_resumed_import_equals_an_uninterrupted_one(
    interrupted: Interrupted, git_internals: ImportedBook
) -> None:
    clean = git_internals.stats  # the same book, imported without interruption in another data dir

    assert interrupted.final == {
        "nodes": clean.nodes,
        "edges": clean.edges,
        "documents": clean.documents,
        "chunks": clean.chunks,
        "entities": clean.entities,
        "chunk_vectors": clean.chunk_vectors,
        "entity_vectors": clean.entity_vectors,
    }
