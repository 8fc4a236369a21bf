"""Parking at job level: real queued imports (the ``cognition import --queue`` command, a real
Arq worker in a child process, a real redis-server) that embed with Gemini on the stub.

The worker's governor and breaker run on the stub's clock (``gemini_worker``), so a test ends
a Pacific day or a storm by advancing that clock, and a parked job, which wakes every
``queue.max_park_seconds`` of real time, finds it moved. Assertions are about ledger rows and
the stub's request counts, never speed; every wait is bounded.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio

from bench.api_server import served_api
from bench.gemini_stub import GeminiStub, StubQuota
from bench.redis_server import RedisServer, free_port
from cognition.governor import fingerprint, quota_day
from cognition.governor.breaker_redis import RedisBreakerStore
from cognition.ledger import DocumentRecord, JobRecord, SqliteLedger
from cognition.paths import DataPaths
from tests.helpers import REPO_ROOT, CliRunner, cli_command, last_json_line, subprocess_env
from tests.integration.gemini_harness import MODEL, StormStub, embedding_env

pytestmark = pytest.mark.slow
WAIT = 120.0


class QueuedImport:
    """One test's queue, data directory and worker (a child process on the stub's clock)."""

    def __init__(self, stub: GeminiStub, redis_server: RedisServer, tmp_path: Path, **extra: str) -> None:
        self.data_dir, self.logs = tmp_path / "data", tmp_path / "worker.log"
        self.queue = f"test-{uuid.uuid4().hex}"
        self.redis_url = redis_server.url
        self.env = subprocess_env(
            self.data_dir,
            **embedding_env(
                stub,
                COGNITION_GEMINI__CACHE="false",  # the tests count the provider's calls
                COGNITION_GEMINI__BATCH_SIZE="4",
                COGNITION_QUEUE__REDIS_URL=redis_server.url,
                COGNITION_QUEUE__NAME=self.queue,
                COGNITION_QUEUE__POLL_SECONDS="0.05",
                COGNITION_QUEUE__RETRY_BASE_SECONDS="0.1",
                COGNITION_QUEUE__RETRY_CAP_SECONDS="0.5",
                COGNITION_QUEUE__IMPORT_ROOTS=str(tmp_path.parent.parent),
                **extra,
            ),
        )
        self.worker: subprocess.Popen[bytes] | None = None

    def submit(self, paths: list[Path], dataset: str) -> list[str]:
        done = subprocess.run(
            cli_command("import", *map(str, paths), "--dataset", dataset, "--queue", "--no-follow", "--json"),
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert last_json_line(done.stdout)["accepted"] == len(paths)
        return sorted(job.job_id for job in self.ledger.jobs(dataset))

    def start(self) -> None:
        log = self.logs.open("ab")
        command = [sys.executable, "-m", "tests.integration.gemini_worker"]
        self.worker = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log)

    def wait(self) -> None:
        assert self.worker is not None
        try:
            code = self.worker.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, self.logs.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait(timeout=30)

    @property
    def ledger(self) -> SqliteLedger:
        return SqliteLedger(DataPaths(self.data_dir).ledger)

    def job(self, job_id: str) -> JobRecord:
        found = self.ledger.job(job_id)
        assert found is not None
        return found

    def document(self, dataset: str, job: JobRecord) -> DocumentRecord:
        assert job.doc_id is not None
        found = self.ledger.get(dataset, job.doc_id)
        assert found is not None
        return found

    def until(self, what: str, test: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.worker is not None and self.worker.poll() is not None:
                raise AssertionError(f"the worker ended before {what}: {self.logs.read_text()[-3000:]}")
            if test():
                return
            time.sleep(0.05)
        raise AssertionError(f"not {what} within {WAIT} s: {self.logs.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def dataset() -> str:
    return f"parking_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[QueuedImport]]:
    made: list[QueuedImport] = []
    yield made
    for run in made:
        run.stop()


def test_the_days_quota_used_up_parks_the_job_until_the_stubs_day_ends_without_using_its_tries(
    redis_server: RedisServer,
    tmp_path: Path,
    excerpts: dict[str, Path],
    dataset: str,
    runs: list[QueuedImport],
) -> None:
    with GeminiStub(StubQuota(requests_per_day=1)) as stub:
        # one try only: a park that counted as an attempt would fail the job at once
        run = QueuedImport(
            stub,
            redis_server,
            tmp_path,
            COGNITION_QUEUE__MAX_TRIES="1",
            COGNITION_QUEUE__MAX_PARK_SECONDS="0.3",
        )
        runs.append(run)
        (job_id,) = run.submit([excerpts["git_objects"]], dataset)
        run.start()
        run.until(
            "parked three times", lambda: run.job(job_id).parks >= 3 and run.job(job_id).state == "queued"
        )
        parked, document = run.job(job_id), run.document(dataset, run.job(job_id))
        sent_before_the_day_ended = len(stub.arrivals)
        # the stub's Pacific day ends; the new day's quota holds the whole document (the
        # job embeds it again from its start: the cache is off here)
        stub.quota.requests_per_day = 100
        stub.advance(quota_day(stub.now()).ends - stub.now() + 1)
        run.wait()
        done = run.job(job_id)
        stored = run.document(dataset, done)

    assert parked.error is not None and parked.error.startswith("parked until ")
    assert "the daily quota of gemini-embedding-001 is used up" in parked.error
    assert document.state == "queued" and document.error == parked.error  # the document says so too
    assert sent_before_the_day_ended == 2  # one served, the second refused for the day: then none
    assert stub.stats["refused_429"] == 1
    assert done.state == "done" and done.attempts == 1 and done.parks >= 3  # parks used no try
    assert stored.state == "stored" and stored.chunks > 0


def test_a_terminal_quota_stops_the_job_at_once_with_what_to_do(
    redis_server: RedisServer,
    tmp_path: Path,
    excerpts: dict[str, Path],
    dataset: str,
    runs: list[QueuedImport],
) -> None:
    with GeminiStub() as stub:
        stub.script("zero")
        run = QueuedImport(stub, redis_server, tmp_path)
        runs.append(run)
        (job_id,) = run.submit([excerpts["git_objects"]], dataset)
        run.start()
        run.wait()
        job = run.job(job_id)
        document = run.document(dataset, job)

    assert len(stub.arrivals) == 1  # never retried
    assert job.state == "failed" and job.attempts == 1 and job.error is not None
    assert job.error.startswith("stopped, not retried: ") and "quota is zero or billing is off" in job.error
    assert "Fix the key's quota or billing" in job.error
    assert document.state == "failed" and document.error == job.error


async def breaker_state(run: QueuedImport, now: float) -> tuple[str, float]:
    client = redis.asyncio.Redis.from_url(run.redis_url)
    store = RedisBreakerStore(client, namespace=f"{run.queue}:governor")
    try:
        state = await store.state(f"{MODEL}:{fingerprint('stub-key')}", now)
    finally:
        await store.close()
    return state.state, state.until


def total_parks(run: QueuedImport, jobs: list[str]) -> int:
    return sum(run.job(job_id).parks for job_id in jobs)


async def test_a_storm_of_429s_opens_the_circuit_parks_the_jobs_and_every_document_completes(
    redis_server: RedisServer,
    tmp_path: Path,
    excerpts: dict[str, Path],
    dataset: str,
    runs: list[QueuedImport],
) -> None:
    with StormStub() as stub:
        stub.storm_until = stub.now() + 60.0  # a minute of 429s on the stub's clock
        run = QueuedImport(
            stub,
            redis_server,
            tmp_path,
            COGNITION_GEMINI__BREAKER_FAILURES="3",
            COGNITION_GEMINI__BREAKER_OPEN_SECONDS="30",
            COGNITION_GEMINI__MAX_PACING="1",
            COGNITION_QUEUE__MAX_PARK_SECONDS="1",
        )
        runs.append(run)
        jobs = run.submit([excerpts["git_objects"], excerpts["bash_expansion"]], dataset)
        run.start()
        run.until(
            "parked behind the open circuit",
            lambda: any(
                (j := run.job(job_id)).state == "queued"
                and "circuit of gemini-embedding-001 is open" in str(j.error)
                for job_id in jobs
            ),
        )
        state, until = await breaker_state(run, stub.now())
        at_open, parks = len(stub.arrivals), total_parks(run, jobs)
        run.until("woken and parked again", lambda: total_parks(run, jobs) >= parks + 2)
        sent_while_open = len(stub.arrivals) - at_open
        stub.advance(60.0)  # the storm is over and the circuit half-opens: one probe, then all
        run.wait()
        finished = [run.job(job_id) for job_id in jobs]
        documents = [run.document(dataset, job) for job in finished]

    assert state == "open" and sent_while_open == 0
    assert at_open <= (3 + 2 - 1) * (1 + 1)  # (failures + the other job's call) x (max_pacing + 1)
    assert not [t for t in stub.arrivals if until - 30.0 < t < until]  # nothing reached the stub while open
    assert [j.state for j in finished] == ["done", "done"]
    assert [d.state for d in documents] == ["stored", "stored"]


def test_without_redis_the_servers_own_runner_parks_behind_the_circuit_without_using_a_try(
    tmp_path: Path, excerpts: dict[str, Path], run_cli: CliRunner
) -> None:
    """The API server runs the job itself (no Redis): two 503s use two of its three tries and
    open the circuit; the third run finds it open and parks (its try given back) until the
    probe may go, which stores the book. The server's clock is real: the circuit opens for 8 s."""
    data_dir = tmp_path / "data"
    made = run_cli("keys", "create", "ops", "--grant", "admin:*", data_dir=data_dir)
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with GeminiStub() as stub:
        stub.script("unavailable", count=2)
        env = embedding_env(
            stub,
            COGNITION_GEMINI__CACHE="false",
            COGNITION_GEMINI__BREAKER_FAILURES="2",
            COGNITION_GEMINI__BREAKER_OPEN_SECONDS="8",
            COGNITION_QUEUE__MAX_TRIES="3",
            COGNITION_QUEUE__RETRY_BASE_SECONDS="0.1",
            COGNITION_QUEUE__RETRY_CAP_SECONDS="0.2",
            COGNITION_QUEUE__MAX_PARK_SECONDS="1",
        )
        with served_api(data_dir, port, subprocess_env(data_dir, **env), tmp_path / "server.log"):
            httpx.post(f"{base}/v1/datasets", json={"name": "books"}, headers=headers, timeout=60)
            files = {"file": ("git.pdf", excerpts["git_objects"].read_bytes(), "application/pdf")}
            accepted = httpx.post(
                f"{base}/v1/datasets/books/documents", files=files, headers=headers, timeout=60
            )
            assert accepted.status_code == 202, accepted.text
            url = f"{base}/v1/jobs/{accepted.json()['job_id']}"
            parked = poll(url, headers, lambda job: job["parks"] >= 1 and job["state"] == "queued")
            done = poll(url, headers, lambda job: job["state"] in ("done", "failed"))

    assert "circuit of gemini-embedding-001 is open" in parked["error"]
    assert parked["error"].startswith("parked until ") and parked["attempts"] == 2
    assert done["state"] == "done" and done["attempts"] == 3 and done["parks"] >= 1, done
    assert stub.stats["fault_unavailable"] == 2 and stub.stats["served"] >= 1


def poll(url: str, headers: dict[str, str], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(url, headers=headers, timeout=60).json()
        if test(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job never got there: {job}")


def test_a_direct_import_out_of_its_days_quota_stops_resumable_and_the_next_pays_no_chunk_twice(
    tmp_path: Path, excerpts: dict[str, Path], run_cli: CliRunner
) -> None:
    """``cognition import`` without ``--queue`` has no queue to park in: at the day's end of
    quota it stops (exit 3, as at a budget cap) and says when to go on; the next import,
    once the quota allows, redoes the document and pays for no text twice (the cache)."""
    data_dir = tmp_path / "data"
    book = str(excerpts["git_objects"])
    with GeminiStub(StubQuota(requests_per_day=1)) as stub:
        env = embedding_env(stub, COGNITION_GEMINI__BATCH_SIZE="4")  # the cache is on, as by default
        stopped = run_cli("import", book, "--dataset", "books", data_dir=data_dir, **env)
        served_before = stub.stats["served"]
        (document,) = SqliteLedger(DataPaths(data_dir).ledger).documents("books")
        stub.quota.requests_per_day = 10_000  # the quota allows again (a new day, a raised quota)
        resumed = run_cli("import", book, "--dataset", "books", data_dir=data_dir, **env)
        (stored,) = SqliteLedger(DataPaths(data_dir).ledger).documents("books")

    assert stopped.returncode == 3, stopped.stderr[-3000:]
    assert "stopped, resumable: the daily quota of gemini-embedding-001 is used up" in stopped.stderr
    assert "import again after " in stopped.stderr and "--queue" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert served_before == 1 and stub.stats["refused_429"] == 1
    assert document.state == "failed" and document.error is not None and "daily quota" in document.error
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert stored.state == "stored" and stored.chunks > 4
    assert stub.served_texts and max(stub.served_texts.values()) == 1  # no text paid for twice
