"""Budgets through a served API (a real server process running its jobs itself, the Gemini
stub behind it): an upload's cap is stored with its job, stops the import with a report and
no retry, the dataset's spend and the job's are shown to keys that may read the dataset and
in ``/metrics``; an upload without the cap then finishes, paying for no chunk twice."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api_server import served_api
from bench.gemini_stub import GeminiStub
from bench.redis_server import free_port
from tests.helpers import CliRunner, subprocess_env
from tests.integration.test_gemini_budget import Served, _env

BOUND = 240.0  # seconds a job may take at most


def _finished(base: str, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def _upload(base: str, book: Path, headers: dict[str, str], **query: object) -> httpx.Response:
    with book.open("rb") as handle:
        return httpx.post(
            f"{base}/v1/datasets/paid/documents",
            params=query,
            files={"file": (book.name, handle, "application/pdf")},
            headers=headers,
            timeout=60,
        )


def _key(run_cli: CliRunner, data_dir: Path, grant: str) -> dict[str, str]:
    made = run_cli("keys", "create", grant, "--grant", grant, data_dir=data_dir)
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}


def test_an_upload_cap_stops_its_job_with_a_report_and_spend_is_shown_per_dataset_and_job(
    tmp_path: Path, run_cli: CliRunner, excerpts: dict[str, Path]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    admin = _key(run_cli, data_dir, "admin:*")
    other = _key(run_cli, data_dir, "read:elsewhere")
    book = excerpts["git_objects"]
    served = Served()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with GeminiStub(answer=served) as stub:
        env = _env(stub)
        total = json.loads(
            run_cli("estimate", str(book), "-d", "paid", "--format", "json", data_dir=data_dir, **env).stdout
        )
        cap = sum(m["input_tokens"] + m["output_tokens"] for m in total["models"]) // 2
        with served_api(data_dir, port, subprocess_env(data_dir, **env), tmp_path / "server.log"):
            assert httpx.post(f"{base}/v1/datasets", json={"name": "paid"}, headers=admin).status_code == 201
            negative = _upload(base, book, admin, max_tokens=-1)
            accepted = _upload(base, book, admin, max_tokens=cap)
            assert accepted.status_code == 202, accepted.text
            stopped = _finished(base, accepted.json()["job_id"], admin)
            first = list(served.prompts)
            spend = httpx.get(f"{base}/v1/datasets/paid/spend", headers=admin)
            hidden = httpx.get(f"{base}/v1/datasets/paid/spend", headers=other)
            metrics = httpx.get(f"{base}/metrics", headers=admin).text
            again = _upload(base, book, admin)
            assert again.status_code == 202, again.text
            done = _finished(base, again.json()["job_id"], admin)
            second = served.prompts[len(first) :]

    assert negative.status_code == 422 and "max_tokens" in negative.text
    assert stopped["state"] == "failed" and stopped["attempts"] == 1, stopped  # never retried
    assert "budget" in stopped["error"] and "resumable" in stopped["error"]
    report = stopped["result"]["budget"]
    assert report["scope"] == "job" and report["limit"] == "tokens" and report["cap"] == cap
    paid = stopped["spend"]
    assert 0 < paid["input_tokens"] + paid["output_tokens"] <= cap
    assert paid["calls"] == stopped["result"]["spend"]["calls"]
    body = spend.json()
    assert spend.status_code == 200 and body["spend"]["calls"] == paid["calls"]
    assert body["spend"]["models"]["gemini-2.5-flash"]["calls"] == len(first)
    assert hidden.status_code in (403, 404)
    assert (
        'cognition_spend_tokens_total{dataset="paid",direction="input",model="gemini-2.5-flash"}' in metrics
    )
    assert 'cognition_spend_cost_total{dataset="paid",model="gemini-2.5-flash"}' in metrics
    assert done["state"] == "done", done
    assert not set(first) & set(second)  # the resumed job paid for no chunk twice
