"""With COGNITION_QUEUE__REDIS_URL set, the API's submissions go to the Arq workers: the same
202, job id, ledger row and 409 as without Redis, and /readyz checks Redis."""

from __future__ import annotations

from pathlib import Path

import httpx

from bench.redis_server import RedisServer, free_port
from tests.api.test_api_restart import _server
from tests.helpers import CliRunner, new_dataset_name


def test_submissions_go_to_the_workers_when_a_queue_is_configured(
    tmp_path: Path, run_cli: CliRunner, redis_server: RedisServer, excerpts: dict[str, Path]
) -> None:
    data_dir = tmp_path / "data"
    queue = {
        "COGNITION_QUEUE__REDIS_URL": redis_server.url,
        "COGNITION_QUEUE__NAME": new_dataset_name("apiq"),
    }
    made = run_cli("keys", "create", "ops", "--grant", "admin:*", data_dir=data_dir)
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pdf = excerpts["git_objects"].read_bytes()
    with _server(data_dir, port, **queue):
        ready = httpx.get(f"{base}/readyz", timeout=120).json()
        assert ready["imports"] == "queue" and ready["checks"]["redis"] == "ok"
        httpx.post(f"{base}/v1/datasets", json={"name": "books"}, headers=headers, timeout=60)
        files = {"file": ("git.pdf", pdf, "application/pdf")}
        accepted = httpx.post(f"{base}/v1/datasets/books/documents", files=files, headers=headers, timeout=60)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        waiting = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers, timeout=60).json()
        assert waiting["state"] == "queued" and waiting["attempts"] == 0  # no worker has run yet
        again = httpx.post(f"{base}/v1/datasets/books/documents", files=files, headers=headers, timeout=60)
        assert again.status_code == 409 and again.json()["reason"] == "in_progress"
        assert again.json()["job_id"] == job_id
        worked = run_cli("worker", "--burst", data_dir=data_dir, **queue)
        assert worked.returncode == 0, worked.stderr[-2000:]
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers, timeout=60).json()
        assert job["state"] == "done" and job["documents"]["done"] == 1 and job["pages"]["done"] == 5, job
        found = httpx.post(
            f"{base}/v1/search",
            json={"query": "git tree object", "datasets": ["books"]},
            headers=headers,
            timeout=60,
        ).json()
        assert found["hits"] and found["hits"][0]["document_id"] == job["document_id"]
        stored = httpx.post(f"{base}/v1/datasets/books/documents", files=files, headers=headers, timeout=60)
        assert stored.status_code == 409 and stored.json()["reason"] == "exists"
