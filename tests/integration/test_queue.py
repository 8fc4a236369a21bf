"""Queued ingestion on a real redis-server with real worker processes (``cognition worker``).

Every worker and client here is a child process with its own data directory (cognee takes
one data directory per process); the test reads the shared ledger file directly and the
store's counts through a process of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bench.redis_server import RedisServer
from bench.sites import serve_site
from cognition.ledger import DocumentRecord, SqliteLedger
from cognition.paths import DataPaths
from ingest.jobs import job_id_for
from tests.helpers import (
    BENCH,
    GIT_INTERNALS,
    REPO_ROOT,
    ImportedBook,
    StatsReader,
    cli_command,
    last_json_line,
    new_dataset_name,
    sha256_of,
    subprocess_env,
)

pytestmark = pytest.mark.slow

CORPUS = BENCH / "multihop" / "hotpotqa_hipporag_train100" / "corpus.json"
WAIT_SECONDS = 600


def write_passages(folder: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` real passages of the HotpotQA corpus, one Markdown file each."""
    items = json.loads(CORPUS.read_text())[start : start + count]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, item in enumerate(items):
        path = folder / f"{start + number:03d}.md"
        path.write_text(f"# {item['title']}\n\n{item['text']}\n")
        paths.append(path)
    return paths


class Workers:
    """Worker processes of one test, on one Redis queue and one data directory."""

    def __init__(
        self, data_dir: Path, redis: RedisServer, queue: str, logs: Path, db: int = 0, **settings: str
    ) -> None:
        self.data_dir = data_dir
        self.logs = logs
        self.env = subprocess_env(
            data_dir,
            COGNITION_QUEUE__REDIS_URL=redis.url.rsplit("/", 1)[0] + f"/{db}",
            COGNITION_QUEUE__NAME=queue,
            COGNITION_QUEUE__POLL_SECONDS="0.05",
            COGNITION_LOG_LEVEL="INFO",  # the tests read which worker ran which job (Arq's lines)
            **settings,
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, burst: bool = True) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.processes)}.log").open("wb")
        args = ["worker", "--burst"] if burst else ["worker"]
        process = subprocess.Popen(cli_command(*args), cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def wait(self, timeout: float = WAIT_SECONDS) -> None:
        for process in self.processes:
            process.wait(timeout=timeout)

    def log_text(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.logs.glob("worker-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    def submit(self, paths: Sequence[Path], dataset: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli_command("import", *map(str, paths), "--dataset", dataset, "--queue", "--no-follow", "--json"),
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture
def workers(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    request: pytest.FixtureRequest,
) -> Iterator[Workers]:
    queue = f"test:{new_dataset_name(request.node.name)}"
    logs = tmp_path / "logs"
    logs.mkdir()
    group = Workers(
        tmp_path / "data",
        redis_server,
        queue,
        logs,
        COGNITION_QUEUE__LEASE_SECONDS="3",
        COGNITION_QUEUE__LOCK_SECONDS="3",
        # the tests' files (this test's, the session's excerpts) and the bench books
        COGNITION_QUEUE__IMPORT_ROOTS=f"{tmp_path_factory.getbasetemp()},{BENCH}",
    )
    yield group
    group.stop()


def records(data_dir: Path, dataset: str) -> list[DocumentRecord]:
    return SqliteLedger(DataPaths(data_dir).ledger).documents(dataset)


def wait_for_state(data_dir: Path, dataset: str, states: set[str], timeout: float = WAIT_SECONDS) -> str:
    """Poll the ledger (as another process sees it) until a document reaches one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = data_dir / "ledger.sqlite3"
        if path.exists():
            found = {r.state for r in SqliteLedger(path).documents(dataset)}
            if found & states:
                return next(iter(found & states))
        time.sleep(0.05)
    raise AssertionError(f"no document of {dataset} reached {states} within {timeout} s")


def until_ready(workers: Workers, count: int) -> None:
    """Until ``count`` workers have logged that they are ready (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        logs = [p.read_text(errors="replace") for p in workers.logs.glob("worker-*.log")]
        if sum("worker ready" in text for text in logs) >= count:
            return
        if any(p.poll() is not None for p in workers.processes):
            break
        time.sleep(0.1)
    raise AssertionError(f"not {count} workers ready: {workers.log_text()}")


def until_done(workers: Workers, dataset: str, count: int) -> None:
    """Until ``count`` documents of ``dataset`` are stored or failed (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if (workers.data_dir / "ledger.sqlite3").exists():
            rows = records(workers.data_dir, dataset)
            if len(rows) == count and all(r.state in ("stored", "failed") for r in rows):
                return
        time.sleep(0.1)
    raise AssertionError(f"{dataset}: not {count} documents done: {workers.log_text()}")


def test_the_same_50_documents_submitted_twice_concurrently_are_stored_once(
    workers: Workers, tmp_path: Path, stats_in_subprocess: StatsReader
) -> None:
    dataset = "fifty"
    paths = write_passages(tmp_path / "passages", 50)
    clients = [
        subprocess.Popen(
            cli_command("import", *map(str, paths), "--dataset", dataset, "--queue", "--no-follow", "--json"),
            cwd=REPO_ROOT,
            env=workers.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = []
    for client in clients:
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, err[-3000:]
        answers.append(last_json_line(out))
    # Every document was accepted by exactly one client; the other got a conflict.
    assert sum(a["accepted"] for a in answers) == 50
    conflicts = [c for a in answers for c in a["conflicts"]]
    assert len(conflicts) == 50
    assert {c["reason"] for c in conflicts} <= {"in_progress", "exists"}
    assert sorted(c["source"] for c in conflicts) == sorted(str(p.resolve()) for p in paths)
    assert all(c["job_id"] == job_id_for(dataset, sha256_of(Path(c["source"]))) for c in conflicts)

    workers.start()
    workers.wait()
    rows = records(workers.data_dir, dataset)
    assert len(rows) == 50, workers.log_text()
    assert {r.state for r in rows} == {"stored"}, [(r.source, r.state, r.error) for r in rows]
    assert all(r.attempts == 1 and r.error is None for r in rows), "a conflict or a success was retried"
    stats = stats_in_subprocess(workers.data_dir, dataset)[dataset]
    assert stats["documents"] == 50
    assert stats["chunk_vectors"] == stats["chunks"]

    # Once stored, a third submission of the same content is answered "exists", not queued.
    again = workers.submit(paths, dataset)
    assert again.returncode == 0, again.stderr[-3000:]
    answer = last_json_line(again.stdout)
    assert answer["accepted"] == 0
    assert [c["reason"] for c in answer["conflicts"]] == ["exists"] * 50
    assert all(c["state"] == "stored" for c in answer["conflicts"])


def test_two_workers_on_one_dataset_equal_one_worker(
    workers: Workers,
    tmp_path: Path,
    redis_server: RedisServer,
    stats_in_subprocess: StatsReader,
    excerpts: dict[str, Path],
) -> None:
    dataset = "pair"
    paths = write_passages(tmp_path / "passages", 24, start=100)
    excerpt = excerpts["bash_expansion"]
    # One worker, its own data directory and Redis database: the reference.
    (tmp_path / "single-logs").mkdir()
    single = Workers(
        tmp_path / "single",
        redis_server,
        workers.env["COGNITION_QUEUE__NAME"],
        tmp_path / "single-logs",
        db=1,  # job ids are global in a Redis database: a deployment of its own gets its own
        COGNITION_QUEUE__LEASE_SECONDS="3",
        COGNITION_QUEUE__IMPORT_ROOTS=workers.env["COGNITION_QUEUE__IMPORT_ROOTS"],
    )
    try:
        assert single.submit([*paths, excerpt], dataset).returncode == 0
        single.start()
        single.wait()
    finally:
        single.stop()
    reference = stats_in_subprocess(single.data_dir, dataset)[dataset]

    # Both workers ready before the jobs come (cognee and the model loaded), so neither can
    # have imported all 25 small documents before the other polled once.
    first, second = workers.start(burst=False), workers.start(burst=False)
    until_ready(workers, 2)
    submitted = workers.submit([*paths, excerpt], dataset)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    until_done(workers, dataset, 25)
    for worker in (first, second):
        worker.send_signal(signal.SIGTERM)
    workers.wait()
    assert first.returncode == 0 and second.returncode == 0, workers.log_text()
    rows = records(workers.data_dir, dataset)
    assert len(rows) == 25
    assert {r.state for r in rows} == {"stored"}, [(r.source, r.state, r.error) for r in rows]
    assert all(r.attempts == 1 for r in rows)
    assert stats_in_subprocess(workers.data_dir, dataset)[dataset] == reference
    logs = workers.log_text()
    assert "Traceback" not in logs and "Could not set lock" not in logs
    # Both workers took jobs (the write lock serialised them, it did not starve one).
    assert all("ingest_file" in p.read_text(errors="replace") for p in workers.logs.glob("worker-*.log")), (
        logs
    )


def test_a_worker_killed_in_the_middle_of_a_book_is_replaced_and_the_book_equals_a_clean_import(
    workers: Workers, git_internals: ImportedBook, stats_in_subprocess: StatsReader
) -> None:
    dataset = "killed"
    assert workers.submit([GIT_INTERNALS], dataset).returncode == 0
    victim = workers.start(burst=False)
    state = wait_for_state(workers.data_dir, dataset, {"embedding", "storing"})
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    [row] = records(workers.data_dir, dataset)
    assert row.state == state, "the kill came after the document was finished"

    started = time.monotonic()
    workers.start()  # burst: it waits for the dead worker's lease (3 s) to expire, then takes the job
    workers.wait()
    [row] = records(workers.data_dir, dataset)
    assert row.state == "stored", workers.log_text()
    assert row.attempts == 2  # the killed attempt and the one that finished
    assert time.monotonic() - started < WAIT_SECONDS
    stats = stats_in_subprocess(workers.data_dir, dataset)[dataset]
    clean = git_internals.stats
    assert (stats["documents"], stats["chunks"], stats["nodes"], stats["edges"], stats["entities"]) == (
        clean.documents,
        clean.chunks,
        clean.nodes,
        clean.edges,
        clean.entities,
    )
    assert stats["chunk_vectors"] == clean.chunk_vectors


def _terminated_mid_book(workers: Workers, dataset: str) -> subprocess.Popen[bytes]:
    """A worker sent SIGTERM (what ``docker compose stop`` sends) while it imports a book."""
    assert workers.submit([GIT_INTERNALS], dataset).returncode == 0
    worker = workers.start(burst=False)
    wait_for_state(workers.data_dir, dataset, {"embedding", "storing"})
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=WAIT_SECONDS)
    return worker


def test_a_worker_stopped_mid_book_finishes_it_within_its_grace(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    workers = _book_workers(tmp_path, redis_server)  # the default grace (60 s) outlasts this book's import
    try:
        worker = _terminated_mid_book(workers, "graceful")
    finally:
        workers.stop()
    [row] = records(workers.data_dir, "graceful")
    assert (worker.returncode, row.state, row.attempts) == (0, "stored", 1), workers.log_text()


def test_a_worker_whose_grace_ends_mid_book_hands_it_back_at_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    workers = _book_workers(
        tmp_path,
        redis_server,
        COGNITION_QUEUE__SHUTDOWN_GRACE_SECONDS="1",
        COGNITION_QUEUE__LEASE_SECONDS="3600",  # only a released lease lets the next worker in
    )
    try:
        stopped = _terminated_mid_book(workers, "handed-back")
        [row] = records(workers.data_dir, "handed-back")
        assert row.state == "failed" and "interrupted" in (row.error or ""), workers.log_text()
        workers.start()  # burst: it ends when the queue is empty
        workers.wait()
    finally:
        workers.stop()
    [row] = records(workers.data_dir, "handed-back")
    assert (stopped.returncode, row.state, row.attempts) == (0, "stored", 2), workers.log_text()


def _book_workers(tmp_path: Path, redis_server: RedisServer, **settings: str) -> Workers:
    """Workers of their own queue that may read the bench books."""
    (tmp_path / "logs").mkdir()
    queue = f"test:{new_dataset_name('stopped')}"
    return Workers(
        tmp_path / "data",
        redis_server,
        queue,
        tmp_path / "logs",
        COGNITION_QUEUE__IMPORT_ROOTS=str(BENCH),
        **settings,
    )


def test_redis_restarted_mid_import_loses_nothing(
    workers: Workers, tmp_path: Path, redis_server: RedisServer, stats_in_subprocess: StatsReader
) -> None:
    dataset = "restart"
    paths = write_passages(tmp_path / "passages", 30, start=200)
    assert workers.submit(paths, dataset).returncode == 0
    worker = workers.start()
    wait_for_state(workers.data_dir, dataset, {"stored"})
    stored_before = sum(r.state == "stored" for r in records(workers.data_dir, dataset))
    assert stored_before < 30, "the import finished before Redis could be restarted"
    redis_server.restart()
    worker.wait(timeout=WAIT_SECONDS)
    rows = records(workers.data_dir, dataset)
    assert len(rows) == 30
    assert {r.state for r in rows} == {"stored"}, [(r.source, r.state, r.error) for r in rows]
    assert stats_in_subprocess(workers.data_dir, dataset)[dataset]["documents"] == 30
    assert worker.returncode == 0, workers.log_text()


def test_a_bad_document_fails_once_and_is_not_retried(workers: Workers, tmp_path: Path) -> None:
    dataset = "bad"
    fake = tmp_path / "notes.pdf"
    fake.write_text("this is not a PDF")
    missing = tmp_path / "missing.pdf"
    submitted = workers.submit([fake, missing], dataset)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    answer = last_json_line(submitted.stdout)
    assert answer["accepted"] == 1
    assert [r["source"] for r in answer["rejected"]] == [str(missing)]
    assert "does not exist" in answer["rejected"][0]["reason"]
    workers.start()
    workers.wait()
    rows = {r.source: r for r in records(workers.data_dir, dataset)}
    bad = rows[str(fake.resolve())]
    assert (bad.state, bad.permanent, bad.attempts) == ("failed", 1, 1)
    assert "no PDF header" in (bad.error or "")
    assert rows[str(missing)].state == "failed"


def test_a_crawl_submitted_to_the_queue_is_run_by_a_worker_and_followed_to_its_end(
    tmp_path: Path, redis_server: RedisServer, request: pytest.FixtureRequest
) -> None:
    dataset = "site"
    logs = tmp_path / "logs"
    logs.mkdir()
    group = Workers(
        tmp_path / "data",
        redis_server,
        f"test:{new_dataset_name(request.node.name)}",
        logs,
        COGNITION_CRAWL__ALLOW_NETWORKS="127.0.0.1/32",
        COGNITION_CRAWL__DELAY_SECONDS="0",
    )
    with serve_site(robots="User-agent: *\nDisallow: /CHANGELOG/\n") as site:
        try:
            group.start(burst=False)
            command = ["crawl", site.url("/"), "--dataset", dataset, "--queue", "--json", "--max-pages", "12"]
            first = subprocess.run(
                cli_command(*command),
                cwd=REPO_ROOT,
                env=group.env,
                capture_output=True,
                text=True,
                timeout=WAIT_SECONDS,
                check=False,
            )
            assert first.returncode == 0, first.stderr[-3000:] + group.log_text()
            answer = last_json_line(first.stdout)
            assert answer["accepted"] == 1 and answer["crawls_running"] == 0
        finally:
            group.stop()
    rows = records(group.data_dir, dataset)
    stored = [r for r in rows if r.state == "stored"]
    assert 8 <= len(stored) <= 12  # --max-pages bounds fetches; dead links and repeats store nothing
    assert all(r.source.startswith(site.base) and r.kind == "web" and r.chunks > 0 for r in stored)
    assert all(r.fetched_at is not None and r.created_at - 120 < r.fetched_at <= r.updated_at for r in stored)
    assert "/CHANGELOG/" not in site.requests
