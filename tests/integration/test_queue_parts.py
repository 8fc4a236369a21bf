"""The queue's parts on a real redis-server: conflicts, write gates, leases, retries, the reaper."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from arq import ArqRedis
from arq.constants import in_progress_key_prefix

from bench.redis_server import RedisServer
from cognition.datasets import document_id
from cognition.gate import FileGate
from cognition.ledger import DocumentRecord, JobRecord, Ledger
from cognition.runtime import Runtime
from cognition.settings import QueueSettings
from ingest.jobs import (
    Accepted,
    Conflict,
    Rejected,
    RetryLater,
    Submitter,
    backoff,
    job_id_for,
    run_file_job,
)
from ingest.reaper import reap
from tests.helpers import new_dataset_name, sha256_of
from workers.leases import RedisGate, job_lease
from workers.queue import ArqQueue, connect


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_server: RedisServer) -> AsyncIterator[ArqRedis]:
    pool = await connect(QueueSettings(redis_url=redis_server.url, name=f"parts:{new_dataset_name('q')}"))
    yield pool
    await pool.aclose()


def queue_settings(redis_server: RedisServer, **changes: object) -> QueueSettings:
    return QueueSettings(redis_url=redis_server.url, name=f"parts:{new_dataset_name('q')}", **changes)


async def test_submitting_known_content_answers_a_conflict_that_points_at_it(
    redis: ArqRedis, redis_server: RedisServer, ledger: Ledger, tmp_path: Path, dataset_name: str
) -> None:
    policy = queue_settings(redis_server)
    submitter = Submitter(ledger, ArqQueue(redis, policy), roots=[tmp_path])
    note = tmp_path / "note.md"
    note.write_text("# Packfiles\n\nGit compresses objects into packfiles.\n")
    doc_id, job_id = document_id(dataset_name, sha256_of(note)), job_id_for(dataset_name, sha256_of(note))

    first = await submitter.submit_file(dataset_name, note, "text")
    assert first == Accepted(dataset_name, str(note.resolve()), doc_id, job_id)
    assert ledger.get(dataset_name, doc_id).state == "queued"  # type: ignore[union-attr]

    second = await submitter.submit_file(dataset_name, note, "text")
    assert isinstance(second, Conflict)
    assert (second.reason, second.doc_id, second.job_id, second.state) == (
        "in_progress",
        doc_id,
        job_id,
        "queued",
    )

    ledger.set_state(dataset_name, doc_id, "stored")
    third = await submitter.submit_file(dataset_name, note, "text")
    assert isinstance(third, Conflict) and third.reason == "exists" and third.state == "stored"

    # A failed document may be submitted again (its job id is reused once the old job is gone).
    ledger.set_state(dataset_name, doc_id, "failed", error="boom")
    await redis.delete(f"arq:job:{job_id}")
    again = await submitter.submit_file(dataset_name, note, "text")
    assert isinstance(again, Accepted)
    assert ledger.get(dataset_name, doc_id).state == "queued"  # type: ignore[union-attr]


async def test_a_file_outside_the_import_roots_is_rejected_when_submitted(
    redis: ArqRedis, redis_server: RedisServer, ledger: Ledger, tmp_path: Path, dataset_name: str
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    outside = tmp_path / "outside.md"
    outside.write_text("# Elsewhere\n\nNot in the library.\n")
    (library / "link.md").symlink_to(outside)
    submitter = Submitter(ledger, ArqQueue(redis, queue_settings(redis_server)), roots=[library])

    answers = [await submitter.submit_file(dataset_name, p, "text") for p in (outside, library / "link.md")]

    assert all(isinstance(a, Rejected) for a in answers)
    assert all("is outside the import roots" in a.reason for a in answers if isinstance(a, Rejected))
    assert "COGNITION_QUEUE__IMPORT_ROOTS" in answers[0].to_json()["reason"]
    assert not await redis.exists(f"arq:job:{job_id_for(dataset_name, sha256_of(outside))}")
    [row] = ledger.documents(dataset_name)  # the link is the same source: the file it resolves to
    assert (row.source, row.state) == (str(outside), "failed")
    assert "outside the import roots" in (row.error or "")


async def test_the_redis_gate_admits_one_writer_per_dataset_at_a_time(
    redis: ArqRedis, redis_server: RedisServer
) -> None:
    gate = RedisGate(redis, redis_server.url, seconds=5, poll=0.01)
    inside: list[int] = []
    overlaps = 0

    async def writer(number: int) -> None:
        nonlocal overlaps
        async with gate.hold("shared"):
            inside.append(number)
            overlaps += len(inside) > 1
            await asyncio.sleep(0.02)
            inside.remove(number)

    await asyncio.gather(*(writer(n) for n in range(6)))
    assert overlaps == 0
    # Another dataset's lock is independent: held at the same time without waiting.
    async with gate.hold("one"):
        await asyncio.wait_for(_enter(gate, "two"), timeout=2)
    assert int(await redis.get("cognition:lock:shared:fence")) == 6


async def _enter(gate: RedisGate, dataset: str) -> None:
    async with gate.hold(dataset):
        pass


async def test_a_dead_writers_redis_lock_expires(redis: ArqRedis, redis_server: RedisServer) -> None:
    await redis.set("cognition:lock:orphan", "1:dead-worker", px=400)  # its holder never renews it
    gate = RedisGate(redis, redis_server.url, seconds=5, poll=0.01)
    started = time.monotonic()
    await asyncio.wait_for(_enter(gate, "orphan"), timeout=5)
    assert time.monotonic() - started >= 0.3
    assert await redis.get("cognition:lock:orphan") is None  # released by its new owner


async def test_the_file_gate_waits_for_another_process_and_is_freed_when_it_is_killed(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    locks.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(locks / 'd.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        gate = FileGate(locks, poll_seconds=0.01)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_enter_file(gate), timeout=0.5)
        holder.kill()  # kill -9: the kernel drops its lock
        holder.wait(timeout=10)
        await asyncio.wait_for(_enter_file(gate), timeout=5)
    finally:
        holder.kill()


async def _enter_file(gate: FileGate) -> None:
    async with gate.hold("d"):
        pass


async def test_a_job_lease_is_short_and_renewed_while_the_job_runs(
    redis: ArqRedis, redis_server: RedisServer
) -> None:
    key = in_progress_key_prefix + "lease-test"
    await redis.psetex(key, 3_600_000, b"1")  # what Arq sets: the whole job timeout
    async with job_lease(redis_server.url, "lease-test", seconds=0.6):
        await asyncio.sleep(0.05)
        assert 0 < await redis.pttl(key) <= 600
        await asyncio.sleep(1.0)  # longer than the lease: the heartbeat kept it
        assert await redis.exists(key)
    await asyncio.sleep(0.8)  # the holder is gone: nobody renews it
    assert not await redis.exists(key)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = QueueSettings(retry_base_seconds=2, retry_cap_seconds=30)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (9, 30)]:
        delays = [backoff(attempt, policy, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len({round(d, 6) for d in delays}) > 150  # jittered: no two workers retry in step


async def test_a_transient_failure_is_retried_with_backoff_then_given_up_and_recorded(
    runtime: Runtime, ledger: Ledger, tmp_path: Path, dataset_name: str
) -> None:
    blocked = tmp_path / "locks-is-a-file"
    blocked.write_text("")  # the write gate cannot create its lock: an I/O failure, not the document's
    settings = runtime.settings.model_copy(
        update={
            "queue": QueueSettings(
                max_tries=3, retry_base_seconds=1, retry_cap_seconds=10, import_roots=[tmp_path]
            )
        }
    )
    blocked_runtime = replace(runtime, settings=settings, gate=FileGate(blocked))
    note = tmp_path / "note.md"
    note.write_text("# Trees\n\nA tree object lists blobs and other trees.\n")
    arguments = {"dataset": dataset_name, "path": str(note), "kind": "text", "content_hash": sha256_of(note)}
    doc_id = document_id(dataset_name, sha256_of(note))
    for attempt in (1, 2):
        with pytest.raises(RetryLater) as retry:
            await run_file_job(blocked_runtime, arguments, attempt)
        row = ledger.get(dataset_name, doc_id)
        assert row is not None and row.state == "queued" and row.attempts == attempt
        assert f"attempt {attempt}/3 failed, retrying in" in (row.error or "")
        assert "FileExistsError" in (row.error or "")
        assert 2 ** (attempt - 1) / 2 <= retry.value.delay <= 2 ** (attempt - 1)
    result = await run_file_job(blocked_runtime, arguments, 3)
    row = ledger.get(dataset_name, doc_id)
    assert row is not None and (row.state, row.permanent, row.attempts) == ("failed", 0, 3)
    assert (row.error or "").startswith("gave up after 3 attempts: FileExistsError")
    assert result["failed"]


async def test_the_reaper_fails_documents_whose_job_is_gone_and_leaves_live_ones(
    redis: ArqRedis, redis_server: RedisServer, ledger: Ledger, dataset_name: str
) -> None:
    queue = ArqQueue(redis, queue_settings(redis_server))
    for name, job in (("lost", "job-lost"), ("alive", "job-alive")):
        ledger.add_job(JobRecord(job, dataset_name, "file", f"/books/{name}.pdf", {}, state="running"))
        ledger.upsert(
            DocumentRecord(
                dataset=dataset_name,
                doc_id=name,
                source=f"/books/{name}.pdf",
                content_hash=name,
                kind="pdf",
                state="embedding",
                job_id=job,
            )
        )
    await redis.psetex(in_progress_key_prefix + "job-alive", 60_000, b"1")
    reaped = await reap(ledger, queue, older_than=0, now=time.time() + 1)
    assert [r.doc_id for r in reaped] == ["lost"]
    lost, alive = ledger.get(dataset_name, "lost"), ledger.get(dataset_name, "alive")
    assert (
        lost is not None and lost.state == "failed" and "abandoned in state embedding" in (lost.error or "")
    )
    assert alive is not None and alive.state == "embedding"
    lost_job, alive_job = ledger.job("job-lost"), ledger.job("job-alive")
    assert lost_job is not None and lost_job.state == "failed" and lost_job.error == lost.error
    assert alive_job is not None and alive_job.state == "running"
