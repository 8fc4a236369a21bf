"""A queued job is untrusted input, and the queue's Redis is reached safely.

Anyone who can write to Redis can put a job on the queue: a worker checks every job (its
arguments' shapes, its path against the import roots, its bytes against its hash) before
it reads a file. Clients reach Redis with credentials from the URL, never show them, and
fail at once with one line when Redis is not there.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import JobResult

from bench.redis_server import RedisServer, free_port
from tests.helpers import CliRunner, StatsReader, last_json_line, new_dataset_name, sha256_of
from tests.integration.test_queue import Workers, records

pytestmark = pytest.mark.slow

PASSWORD = "s3cret/p@ss:word"  # characters a URL must percent-encode


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


async def _enqueue_raw(
    url: str,
    queue: str,
    jobs: dict[str, tuple[tuple[Any, ...], dict[str, Any]]],
    function: str = "ingest_file",
) -> None:
    """Write jobs straight into Redis with Arq's own client, as anyone with access to it could."""
    pool = await create_pool(
        RedisSettings.from_dsn(url),
        job_serializer=_json,
        job_deserializer=json.loads,
        default_queue_name=queue,
    )
    try:
        for job_id, (args, kwargs) in jobs.items():
            assert await pool.enqueue_job(function, *args, _job_id=job_id, **kwargs) is not None
    finally:
        await pool.aclose()


async def _results(url: str, queue: str) -> dict[str, JobResult]:
    pool = await create_pool(RedisSettings.from_dsn(url), job_deserializer=json.loads)
    try:
        return {r.job_id: r for r in await pool.all_job_results() if r.queue_name == queue}
    finally:
        await pool.aclose()


def _note(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _workers(tmp_path: Path, redis: RedisServer, roots: str, name: str) -> Workers:
    logs = tmp_path / "logs"
    logs.mkdir()
    return Workers(
        tmp_path / "data", redis, f"test:{new_dataset_name(name)}", logs, COGNITION_QUEUE__IMPORT_ROOTS=roots
    )


def test_jobs_written_straight_into_redis_are_checked_before_any_file_is_read(
    tmp_path: Path, redis_server: RedisServer, stats_in_subprocess: StatsReader
) -> None:
    dataset = "guarded"
    library, elsewhere = tmp_path / "library", tmp_path / "elsewhere"
    kept = _note(library / "kept.md", "# Blobs\n\nA blob object stores the contents of a file.\n")
    secret = _note(elsewhere / "secret.md", "# Secret\n\nThe launch code is 0000.\n")
    link = library / "link.md"
    link.symlink_to(secret)
    forged = _note(library / "forged.md", "# Trees\n\nA tree lists blobs.\n")
    changed = _note(library / "changed.md", "# Tags\n\nA tag names a commit.\n")
    workers = _workers(tmp_path, redis_server, str(library), "raw")
    try:
        # A real submission whose file is changed before a worker takes it.
        submitted = workers.submit([changed], dataset)
        assert submitted.returncode == 0, submitted.stderr[-3000:]
        assert last_json_line(submitted.stdout)["accepted"] == 1
        changed_hash = sha256_of(changed)
        changed.write_text("# Tags\n\nSomething else entirely.\n")

        def job(path: object, content_hash: object, **more: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
            fields = {"dataset": dataset, "path": path, "kind": "text", "content_hash": content_hash}
            return (), {**fields, **more}

        raw = {
            "raw:kept": job(str(kept), sha256_of(kept)),  # the control: a good job is run
            "raw:outside": job(str(secret), sha256_of(secret)),
            "raw:symlink": job(str(link), sha256_of(secret)),
            "raw:dotdot": job(str(library / ".." / "elsewhere" / "secret.md"), sha256_of(secret)),
            "raw:relative": job("kept.md", sha256_of(kept)),
            "raw:forged": job(str(forged), sha256_of(kept)),
            "raw:folder": job(str(library), sha256_of(kept)),
            "raw:types": ((), {"dataset": 7, "path": ["/etc/hostname"], "kind": "exe", "content_hash": None}),
            "raw:dataset": job(str(kept), sha256_of(kept), dataset="../escape"),
            "raw:hash": job(str(kept), "not-a-sha256"),
            "raw:missing": ((), {"dataset": dataset}),
            "raw:extra": job(str(kept), sha256_of(kept), password="x"),
            "raw:positional": ((dataset, str(secret), "text", sha256_of(secret)), {}),
        }
        queue = workers.env["COGNITION_QUEUE__NAME"]
        asyncio.run(_enqueue_raw(redis_server.url, queue, raw))
        worker = workers.start()
        workers.wait()
        assert worker.returncode == 0, workers.log_text()
        results = asyncio.run(_results(redis_server.url, queue))
    finally:
        workers.stop()

    assert "Traceback" not in workers.log_text()
    assert set(results) >= set(raw), workers.log_text()
    # Every job ended (none failed, none was retried); only the control imported anything.
    assert all(r.success and r.job_try == 1 for job_id, r in results.items() if job_id in raw)
    assert results["raw:kept"].result["added"] == 1
    refused = {job_id: results[job_id].result["refused"] for job_id in raw if job_id != "raw:kept"}
    for job_id in ("raw:outside", "raw:symlink", "raw:dotdot"):
        assert "outside the import roots" in refused[job_id], refused[job_id]
    assert "must be an absolute path" in refused["raw:relative"]
    assert "content does not match the job's hash" in refused["raw:forged"]
    assert "not a file" in refused["raw:folder"]
    assert "dataset must be a string" in refused["raw:types"]
    assert "invalid dataset name" in refused["raw:dataset"]
    assert "content_hash must be 64 lowercase hex digits" in refused["raw:hash"]
    assert "missing arguments: content_hash, kind, path" in refused["raw:missing"]
    assert "unexpected arguments: password" in refused["raw:extra"]
    assert "unexpected arguments: positional" in refused["raw:positional"]

    rows = {r.source: r for r in records(workers.data_dir, dataset)}
    assert rows[str(kept)].state == "stored"
    bad = rows[str(changed)]  # the submitted document's row tells why its job was refused
    assert (bad.state, bad.permanent, bad.content_hash) == ("failed", 1, changed_hash)
    assert "content does not match the job's hash" in (bad.error or "")
    assert set(rows) == {str(kept), str(changed)}, "a refused job left a row of its own"
    assert stats_in_subprocess(workers.data_dir, dataset)[dataset]["documents"] == 1


def test_malformed_crawl_jobs_are_refused_with_their_reason_and_never_retried(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    def crawl(**spec: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (), {"dataset": "crawled", "spec": spec}

    raw = {
        "crawl:types": ((), {"dataset": 7, "spec": "http://example.org/"}),
        "crawl:spec": ((), {"dataset": "crawled", "spec": ["http://example.org/"]}),
        "crawl:unknown": crawl(seeds=["http://example.org/"], follow_everything=True),
        "crawl:no-seeds": crawl(seeds=[]),
        "crawl:seed-type": crawl(seeds=[{"url": "http://example.org/"}]),
        "crawl:depth": crawl(seeds=["http://example.org/"], max_depth=True),
        "crawl:pages": crawl(seeds=["http://example.org/"], max_pages=-1),
        "crawl:positional": (("crawled", {"seeds": ["http://example.org/"]}), {}),
        "crawl:missing": ((), {"dataset": "crawled"}),
    }
    workers = _workers(tmp_path, redis_server, str(tmp_path), "crawl")
    try:
        queue = workers.env["COGNITION_QUEUE__NAME"]
        asyncio.run(_enqueue_raw(redis_server.url, queue, raw, function="crawl_site"))
        worker = workers.start()
        workers.wait()
        assert worker.returncode == 0, workers.log_text()
        results = asyncio.run(_results(redis_server.url, queue))
    finally:
        workers.stop()

    assert "Traceback" not in workers.log_text()
    assert all(results[job_id].success and results[job_id].job_try == 1 for job_id in raw)
    refused = {job_id: results[job_id].result["refused"] for job_id in raw}
    assert refused == {
        "crawl:types": "refused: dataset must be a string, not int",
        "crawl:spec": "refused: spec must be an object, not list",
        "crawl:unknown": "refused: unexpected spec fields: follow_everything",
        "crawl:no-seeds": "refused: spec.seeds must name at least one URL",
        "crawl:seed-type": "refused: spec.seeds must be a list of strings",
        "crawl:depth": "refused: spec.max_depth must be a whole number of at least 0, or null",
        "crawl:pages": "refused: spec.max_pages must be a whole number of at least 0, or null",
        "crawl:positional": "refused: missing arguments: dataset, spec; unexpected arguments: positional",
        "crawl:missing": "refused: missing arguments: spec",
    }


def test_a_redis_with_a_password_works_end_to_end_and_the_password_is_never_shown(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    try:
        assert "s3cret%2Fp%40ss%3Aword@" in server.url
        workers = _workers(tmp_path, server, str(tmp_path), "auth")
        note = _note(tmp_path / "notes" / "refs.md", "# Refs\n\nA ref names a commit by its hash.\n")
        try:
            submitted = workers.submit([note], "auth")
            assert submitted.returncode == 0, submitted.stderr[-3000:]
            assert last_json_line(submitted.stdout)["accepted"] == 1
            worker = workers.start()
            workers.wait()
            assert worker.returncode == 0, workers.log_text()
        finally:
            workers.stop()
        [row] = records(workers.data_dir, "auth")
        assert row.state == "stored", workers.log_text()
        shown = submitted.stdout + submitted.stderr + workers.log_text()
        assert "s3cret" not in shown and "Traceback" not in shown

        wrong = server.url.replace("s3cret", "wrong-guess")
        refused = run_cli(
            "import", str(note), "-d", "auth", "--queue", data_dir=tmp_path / "d2",
            COGNITION_QUEUE__REDIS_URL=wrong, COGNITION_QUEUE__IMPORT_ROOTS=str(tmp_path),
        )  # fmt: skip
    finally:
        server.stop()
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: the queue is not reachable at redis://:***@127.0.0.1:{server.port}/0: ")
    assert "wrong-guess" not in refused.stderr + refused.stdout


def test_a_queued_import_with_no_redis_listening_fails_at_once_with_one_line(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    note = _note(tmp_path / "notes" / "a.md", "# A\n\nA note.\n")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    done = run_cli(
        "import", str(note), "-d", "x", "--queue", data_dir=tmp_path / "data",
        COGNITION_QUEUE__REDIS_URL=url, COGNITION_QUEUE__IMPORT_ROOTS=str(tmp_path),
    )  # fmt: skip
    print(f"failed after {time.monotonic() - started:.1f} s")  # measured by hand, not asserted
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: the queue is not reachable at {url}: "), line
    assert "Connection refused" in line or "connecting to" in line, line
    assert done.stdout == ""


def test_a_worker_given_a_wrong_password_stops_at_once_with_one_line(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    try:
        wrong = server.url.replace("s3cret", "wrong-guess")
        done = run_cli("worker", "--burst", data_dir=tmp_path / "data", COGNITION_QUEUE__REDIS_URL=wrong)
    finally:
        server.stop()

    assert done.returncode == 2, done.stderr[-3000:]
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: the queue is not reachable at redis://:***@127.0.0.1:{server.port}/0: ")
    assert "wrong-guess" not in done.stderr + done.stdout
