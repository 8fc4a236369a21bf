"""A server killed (SIGKILL) while it imports an accepted upload, then restarted on the same
data directory: the restarted server finds the job in the ledger, redoes it, and the book
ends stored once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.api_server import served_api
from bench.redis_server import free_port
from tests.helpers import GIT_INTERNALS, CliRunner, StatsReader, subprocess_env

BOUND = 240.0  # seconds any wait below may take at most


@contextmanager
def _server(data_dir: Path, port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    log = data_dir / f"server-{time.monotonic_ns()}.log"
    with served_api(data_dir, port, subprocess_env(data_dir, **env), log) as process:
        yield process


def _wait(ready: object) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_server_killed_mid_import_resumes_the_job_after_a_restart_and_stores_the_book_once(
    tmp_path: Path, run_cli: CliRunner, stats_in_subprocess: StatsReader
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    made = run_cli("keys", "create", "ops", "--grant", "admin:*", data_dir=data_dir)
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _server(data_dir, port) as first:
        assert httpx.post(f"{base}/v1/datasets", json={"name": "books"}, headers=headers).status_code == 201
        with GIT_INTERNALS.open("rb") as handle:
            accepted = httpx.post(
                f"{base}/v1/datasets/books/documents",
                files={"file": ("git.pdf", handle, "application/pdf")},
                headers=headers,
                timeout=60,
            )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]

        def importing() -> bool:
            job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json()
            return bool(job["state"] == "running" and job["pages"]["total"] > 0)

        _wait(importing)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    with _server(data_dir, port):

        def finished() -> bool:
            return httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json()["state"] in (
                "done",
                "failed",
            )

        _wait(finished)
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json()
        documents = httpx.get(f"{base}/v1/datasets/books/documents", headers=headers).json()["documents"]
    assert job["state"] == "done" and job["attempts"] == 2, job
    assert [(d["state"], d["pages"]) for d in documents] == [("stored", 121)]
    stats = stats_in_subprocess(data_dir, "books")["books"]
    assert stats["documents"] == 1
    assert stats["chunks"] == stats["chunk_vectors"] == documents[0]["chunks"]
