"""The periodic audit and audits as jobs: a server without Redis audits every dataset that
is due on its own timer; with Redis, the workers' cron queues the due audits and a worker
runs them; an audit job is untrusted input like any job; a dataset with nothing stored yet
audits as empty, not as missing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bench.api_server import served_api
from bench.redis_server import RedisServer, free_port
from cognition.keys import open_keys, parse_grant
from cognition.ledger.audits import AuditRecord
from cognition.ledger.sqlite import SqliteLedger
from cognition.paths import DataPaths
from cognition.settings import AuditSettings, QueueSettings, Settings, get_settings
from ingest.audit_jobs import due
from tests.helpers import subprocess_env
from tests.integration.test_queue_trust import _enqueue_raw, _results, _workers


def _ledger(data_dir: Path) -> SqliteLedger:
    return SqliteLedger(DataPaths.of(Settings(data_dir=data_dir)).ledger)


def test_due_datasets_are_those_never_audited_or_audited_long_enough_ago(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    for name in ("never", "recent", "old"):
        ledger.register_dataset(name)
    ledger.add_audit(AuditRecord("recent", 950.0, 951.0, "ok", []))
    ledger.add_audit(AuditRecord("old", 100.0, 101.0, "ok", []))
    ledger.add_audit(AuditRecord("old", 20.0, 21.0, "ok", []))

    assert sorted(due(ledger, every_seconds=600, now=1000.0)) == ["never", "old"]
    assert sorted(due(ledger, every_seconds=10_000, now=1000.0)) == ["never"]


@pytest.mark.slow
def test_a_server_without_redis_audits_due_datasets_on_its_timer(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ledger = _ledger(data_dir)
    ledger.register_dataset("nothing-yet")  # registered, nothing imported: empty
    _, secret = open_keys(Settings(data_dir=data_dir)).create("sre", [parse_grant("read:nothing-yet")])
    headers = {"Authorization": f"Bearer {secret}"}
    port = free_port()
    env = subprocess_env(data_dir, COGNITION_AUDIT__EVERY_SECONDS="3600")
    with served_api(data_dir, port, env, log=tmp_path / "server.log"):
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        job: dict[str, object] = {}
        while job.get("state") not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            answer = httpx.get(f"{base}/jobs/audit:nothing-yet", headers=headers, timeout=10)
            job = answer.json() if answer.status_code == 200 else {}
        time.sleep(0.5)  # the timer's next turn is an hour away: no second audit
        history = httpx.get(f"{base}/datasets/nothing-yet/audits", headers=headers, timeout=10).json()

    audits = history["audits"]
    assert job["state"] == "done" and job["kind"] == "audit", job
    assert len(audits) == 1 and audits[0]["status"] == "ok"
    assert job["result"] == {
        "dataset": "nothing-yet",
        "audit_id": audits[0]["id"],
        "status": "ok",
        "checks": {c["name"]: "ok" for c in audits[0]["checks"]},
    }
    counts = next(c for c in audits[0]["checks"] if c["name"] == "counts")
    assert counts["summary"] == "0 nodes, 0 edges, 0.0 MB on disk"


@pytest.mark.slow
async def test_the_workers_cron_queues_due_audits_and_a_worker_runs_them(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from workers.queue import connect
    from workers.runtime import WorkerRuntime
    from workers.tasks import periodic_audit

    workers = _workers(tmp_path, redis_server, str(tmp_path), "cron-audit")
    queue_name = workers.env["COGNITION_QUEUE__NAME"]
    settings = Settings(
        data_dir=workers.data_dir,
        queue=QueueSettings(redis_url=redis_server.url, name=queue_name),
        audit=AuditSettings(every_seconds=3600),
    )
    redis = await connect(settings.queue)
    worker_runtime = WorkerRuntime.build(settings, redis)
    ledger = worker_runtime.runtime.ledger
    try:
        ledger.register_dataset("due-one")
        ledger.register_dataset("fresh-one")
        ledger.add_audit(AuditRecord("fresh-one", time.time(), time.time(), "ok", []))
        ctx = {"runtime": worker_runtime}
        first, second = await periodic_audit(ctx), await periodic_audit(ctx)
        raw = {
            "audit:types": ((), {"dataset": 7}),
            "audit:name": ((), {"dataset": "../etc"}),
            "audit:unknown": ((), {"dataset": "no-such-dataset"}),
            "audit:positional": (("due-one",), {}),
            "audit:extra": ((), {"dataset": "due-one", "repair": True}),
        }
        await _enqueue_raw(redis_server.url, queue_name, raw, function="audit_dataset")
        worker = workers.start()
        await asyncio.to_thread(workers.wait)
        results = await _results(redis_server.url, queue_name)
        job = ledger.job("audit:due-one")
        audits = ledger.audits("due-one", limit=5)
    finally:
        workers.stop()
        await worker_runtime.close()
        await redis.aclose()

    assert (first, second) == (1, 0)  # queued once; the second turn found it queued
    assert worker.returncode == 0, workers.log_text()
    assert "Traceback" not in workers.log_text()
    assert job is not None and job.state == "done" and job.result is not None
    assert len(audits) == 1 and job.result["audit_id"] == audits[0].id
    assert ledger.audits("fresh-one", limit=5)[0].checks == []  # not due: not audited again
    refused = {job_id: results[job_id].result["refused"] for job_id in raw}
    assert refused == {
        "audit:types": "refused: dataset must be a string, not int",
        "audit:name": "refused: invalid dataset name '../etc': use 1-63 lowercase letters, digits, "
        "'-' or '_', starting with a letter or digit",
        "audit:unknown": "refused: no dataset named 'no-such-dataset'",
        "audit:positional": "refused: unexpected arguments: positional",
        "audit:extra": "refused: unexpected arguments: repair",
    }
    assert all(results[job_id].job_try == 1 for job_id in raw)


def test_the_worker_schedules_the_periodic_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    # the module builds arq's WorkerSettings from the environment when imported
    monkeypatch.setenv("COGNITION_QUEUE__REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        from workers.settings import worker_options
    finally:
        monkeypatch.delenv("COGNITION_QUEUE__REDIS_URL")
        get_settings.cache_clear()

    options = worker_options(Settings(queue=QueueSettings(redis_url="redis://127.0.0.1:1/0")))
    assert {c.name for c in options["cron_jobs"]} == {"cron:reap_abandoned", "cron:periodic_audit"}
    assert "audit_dataset" in {f.name for f in options["functions"]}
