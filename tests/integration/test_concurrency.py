"""Several processes on one data directory: the same file imported twice at once is stored
once, and a search waits for a write in progress (bounded) instead of failing on the graph
database's file lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cognition.ledger import SqliteLedger
from cognition.paths import DataPaths
from tests.helpers import (
    CLI_TIMEOUT,
    REPO_ROOT,
    CliRunner,
    StatsReader,
    cli_command,
    last_json_line,
    subprocess_env,
)

pytestmark = pytest.mark.slow

DATASET = "g2"


def _start(*args: str, data_dir: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(*args),
        cwd=REPO_ROOT,
        env=subprocess_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _both(data_dir: Path, path: Path) -> list[tuple[int, dict[str, object], str]]:
    """Two imports of ``path`` started together; their exit codes, summaries and stderr."""
    children = [_start("import", str(path), "-d", DATASET, "--json", data_dir=data_dir) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=CLI_TIMEOUT)
        results.append((child.returncode, last_json_line(out) if child.returncode == 0 else {}, err))
    return results


def _assert_stored_once(
    results: list[tuple[int, dict[str, object], str]], data_dir: Path, stats: StatsReader
) -> None:
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    summaries = sorted((s["added"], s["skipped"]) for _, s, _ in results)
    assert summaries == [(0, 1), (1, 0)]  # one stores it, the other skips it
    [row] = SqliteLedger(DataPaths(data_dir).ledger).documents(DATASET)
    assert (row.state, row.owner) == ("stored", None)
    found = stats(data_dir, DATASET)[DATASET]
    assert (found["documents"], found["chunks"], found["chunk_vectors"]) == (1, row.chunks, row.chunks)


def test_the_same_file_imported_twice_at_once_into_a_new_data_directory_is_stored_once(
    excerpts: dict[str, Path], tmp_path: Path, stats_in_subprocess: StatsReader
) -> None:
    results = _both(tmp_path / "data", excerpts["git_objects"])

    _assert_stored_once(results, tmp_path / "data", stats_in_subprocess)


def test_the_same_file_imported_twice_at_once_into_an_existing_dataset_is_stored_once(
    excerpts: dict[str, Path], tmp_path: Path, run_cli: CliRunner, stats_in_subprocess: StatsReader
) -> None:
    data_dir = tmp_path / "data"
    first = run_cli("import", str(excerpts["bash_expansion"]), "-d", DATASET, "--json", data_dir=data_dir)
    assert first.returncode == 0, first.stderr[-2000:]

    results = _both(data_dir, excerpts["git_objects"])

    rows = SqliteLedger(DataPaths(data_dir).ledger).documents(DATASET)
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert sorted((s["added"], s["skipped"]) for _, s, _ in results) == [(0, 1), (1, 0)]
    assert [(r.state, r.owner) for r in rows] == [("stored", None), ("stored", None)]
    found = stats_in_subprocess(data_dir, DATASET)[DATASET]
    assert (found["documents"], found["chunks"]) == (2, sum(r.chunks for r in rows))


# --------------------------------------------------------------------------- reads during a write


@pytest.fixture(scope="module")
def imported(excerpts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, run_cli: CliRunner) -> Path:
    """A data directory with one small book in dataset ``g2``."""
    data_dir = tmp_path_factory.mktemp("reads") / "data"
    done = run_cli("import", str(excerpts["git_objects"]), "-d", DATASET, "--json", data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    return data_dir


@contextmanager
def writing(data_dir: Path) -> Iterator[None]:
    """What a writer of the dataset holds while it stores a batch: the dataset's write lock
    and the graph database open for writing (Ladybug admits one process per file)."""
    import ladybug

    [graph_file] = list((data_dir / "cognee").rglob("*.lbug"))
    fd = os.open(DataPaths(data_dir).locks / f"{DATASET}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    database = ladybug.Database(str(graph_file))
    try:
        yield
    finally:
        database.close()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # the process ended, or a descriptor closed while we looked
        return False


def test_a_graph_search_during_a_write_waits_for_it_and_answers(imported: Path) -> None:
    lock_file = DataPaths(imported).locks / f"{DATASET}.lock"
    with writing(imported):
        child = _start(
            "search", "git blob tree", "-d", DATASET, "--mode", "graph", "--json", data_dir=imported
        )
        deadline = time.monotonic() + CLI_TIMEOUT
        while child.poll() is None and not _has_open(child.pid, lock_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the search is waiting for the write: let it wait a little
        ended_while_writing = child.poll() is not None
    out, err = child.communicate(timeout=CLI_TIMEOUT)

    assert not ended_while_writing, err[-2000:]  # it did not fail on the database's lock ...
    assert child.returncode == 0, err[-2000:]
    assert last_json_line(out)["hits"]  # ... and answered once the write ended


def _search_waiting_1s(data_dir: Path, mode: str, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command("search", "git blob tree", "-d", DATASET, "--mode", mode, *more),
        cwd=REPO_ROOT,
        env=subprocess_env(data_dir, COGNITION_SEARCH__BUSY_WAIT_SECONDS="1"),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def test_a_search_that_waits_too_long_is_told_the_dataset_is_busy(imported: Path) -> None:
    with writing(imported):
        done = _search_waiting_1s(imported, "hybrid")

    assert done.returncode == 2
    assert "dataset 'g2' is being written by another process (waited 1 s): retry shortly" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_vector_search_is_not_held_up_by_a_write(imported: Path) -> None:
    with writing(imported):
        done = _search_waiting_1s(imported, "vector", "--json")

    assert done.returncode == 0, done.stderr[-2000:]
    hits = last_json_line(done.stdout)["hits"]
    assert hits and all(h["dataset"] == DATASET and h["page_start"] >= 1 for h in hits)
