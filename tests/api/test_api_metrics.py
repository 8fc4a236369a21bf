"""``GET /metrics``: the Prometheus text format, parsed by prometheus-client's own parser.
After a known sequence (a dataset made, an excerpt uploaded and imported, searches by HTTP
and by MCP, requests to known and unknown routes) each series says exactly what happened; a
key sees the series of its own datasets and none of another's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest_asyncio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from bench.redis_server import RedisServer
from cognition.ledger import DocumentRecord, JobRecord, Ledger
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.catalog import dataset_overview
from tests.helpers import ApiHarness, new_dataset_name

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Imported:
    name: str  # a dataset with one imported excerpt
    other: str  # an empty dataset the scoped key has no right on
    job: dict[str, Any]
    reader: dict[str, str]  # a key that may read ``name`` only


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def imported(api: ApiHarness, excerpts: dict[str, Path]) -> Imported:
    name, other = "metrics-a", "metrics-b"
    for dataset in (name, other):
        made = await api.client.post("/v1/datasets", json={"name": dataset}, headers=api.admin)
        assert made.status_code == 201, made.text
    path = excerpts["git_objects"]
    answer = await api.client.post(
        f"/v1/datasets/{name}/documents",
        files={"file": (path.name, path.read_bytes(), "application/pdf")},
        headers=api.admin,
    )
    assert answer.status_code == 202, answer.text
    job = await api.wait_for_job(answer.json()["job_id"])
    assert job["state"] == "done", job
    return Imported(name, other, job, api.key(f"read:{name}"))


async def scrape(api: ApiHarness, headers: dict[str, str]) -> tuple[str, Samples]:
    answer = await api.client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return answer.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not shown (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def labelled(samples: Samples, label: str) -> set[str]:
    return {v for (_, labels) in samples for k, v in labels if k == label}


async def test_metrics_need_a_valid_key(api: ApiHarness) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        answer = await api.client.get("/metrics", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "Unauthenticated"


async def test_documents_pages_chunks_and_jobs_of_an_import(api: ApiHarness, imported: Imported) -> None:
    document = (
        await api.client.get(
            f"/v1/datasets/{imported.name}/documents/{imported.job['document_id']}", headers=api.admin
        )
    ).json()
    _, samples = await scrape(api, imported.reader)
    d = imported.name
    assert value(samples, "cognition_documents", dataset=d, state="stored") == 1
    for state in ("queued", "reading", "embedding", "storing", "failed", "needs_ocr", "interrupted"):
        assert (("cognition_documents", frozenset({("dataset", d), ("state", state)}))) in samples
        assert value(samples, "cognition_documents", dataset=d, state=state) == 0
    assert value(samples, "cognition_pages_imported_total", dataset=d) == 5 == document["pages"]
    assert value(samples, "cognition_chunks", dataset=d) == document["chunks"] > 0
    assert value(samples, "cognition_jobs", dataset=d, state="done") == 1
    assert value(samples, "cognition_jobs", dataset=d, state="failed") == 0
    # a key of one dataset: the queued jobs of its datasets only (none now), never the whole queue's
    assert value(samples, "cognition_queue_depth") == 0
    assert labelled(samples, "version")  # cognition_build_info{version}


async def test_each_search_is_observed_under_its_mode_by_http_and_by_mcp(
    api: ApiHarness, imported: Imported
) -> None:
    _, before = await scrape(api, api.admin)
    for _ in range(2):
        found = await api.client.post(
            "/v1/search",
            json={"query": "git tree object", "datasets": [imported.name], "mode": "vector"},
            headers=imported.reader,
        )
        assert found.status_code == 200 and found.json()["hits"], found.text
    refused = await api.client.post(
        "/v1/search",
        json={"query": "git", "datasets": [imported.other], "mode": "vector"},
        headers=imported.reader,
    )
    assert refused.status_code == 404  # refused before searching: not a latency
    _, after = await scrape(api, api.admin)
    count = "cognition_search_seconds_count"
    assert value(after, count, mode="vector") - value(before, count, mode="vector") == 2
    assert value(after, count, mode="graph") == value(before, count, mode="graph")
    assert value(after, "cognition_search_seconds_sum", mode="vector") > value(
        before, "cognition_search_seconds_sum", mode="vector"
    )

    async with _mcp(api, imported.reader) as client:
        result = await client.call_tool("search", {"query": "git blob", "mode": "graph"})
        assert not result.is_error, result.content
    _, later = await scrape(api, api.admin)
    assert value(later, count, mode="graph") - value(after, count, mode="graph") == 1


async def test_a_key_sees_no_series_of_a_dataset_it_cannot_read(api: ApiHarness, imported: Imported) -> None:
    text, samples = await scrape(api, imported.reader)
    assert labelled(samples, "dataset") == {imported.name}
    assert imported.other not in text
    assert value(samples, "cognition_build_info", version=next(iter(labelled(samples, "version")))) == 1
    assert any(name == "cognition_http_requests_total" for name, _ in samples)  # process-wide: shown
    _, everything = await scrape(api, api.admin)
    assert {imported.name, imported.other} <= labelled(everything, "dataset")
    assert value(everything, "cognition_documents", dataset=imported.other, state="stored") == 0


async def test_requests_are_counted_by_route_template_never_by_raw_path(
    api: ApiHarness, imported: Imported
) -> None:
    _, before = await scrape(api, api.admin)
    template, total = "/v1/datasets/{dataset}", "cognition_http_requests_total"
    assert (await api.client.get(f"/v1/datasets/{imported.name}", headers=api.admin)).status_code == 200
    assert (await api.client.get("/v1/datasets/metrics-none", headers=api.admin)).status_code == 404
    assert (await api.client.get("/no/such/route/x1", headers=api.admin)).status_code == 404
    _, after = await scrape(api, api.admin)

    def grew(route: str, status: str) -> float:
        labels = {"route": route, "method": "GET", "status": status}
        return value(after, total, **labels) - value(before, total, **labels)

    assert grew(template, "200") == 1
    assert grew(template, "404") == 1
    assert grew("unmatched", "404") == 1
    assert grew("/metrics", "200") == 1  # the first scrape, counted once answered
    routes = labelled(after, "route")
    assert not {r for r in routes if imported.name in r or "metrics-none" in r or "x1" in r}


async def test_interrupted_documents_and_queued_jobs_are_read_from_the_ledger(
    api: ApiHarness, ledger: Ledger
) -> None:
    name = "metrics-c"
    ledger.register_dataset(name)
    dead = _ended_pid()
    host = socket.gethostname()
    for doc_id, owner in (("d-dead", f"{host}:{dead}"), ("d-live", f"{host}:{os.getpid()}")):
        ledger.upsert(DocumentRecord(name, doc_id, f"/x/{doc_id}.pdf", doc_id, "pdf", "storing", owner=owner))
    later = JobRecord(
        f"metrics:{name}:later", name, "file", "/x/later.pdf", {}, not_before=time.time() + 3600
    )
    assert ledger.add_job(later)  # due in an hour: the server's runner leaves it queued
    try:
        _, samples = await scrape(api, api.admin)
        assert value(samples, "cognition_documents", dataset=name, state="interrupted") == 1
        assert value(samples, "cognition_documents", dataset=name, state="storing") == 1
        assert value(samples, "cognition_jobs", dataset=name, state="queued") == 1
        queued = len(ledger.jobs(states=("queued",), limit=10_000))
        assert value(samples, "cognition_queue_depth") == queued >= 1
        counted = {
            _ds(labels): n for (metric, labels), n in samples.items() if metric == "cognition_documents" and n
        }
        expected = {(d, s): n for d, by in dataset_overview(ledger).items() for s, n in by.items()}
        assert counted == expected  # the SQL counts agree with the row-by-row summaries
    finally:
        ledger.forget_dataset(name)


async def test_queue_depth_is_the_length_of_arqs_queue_when_redis_is_configured(
    api: ApiHarness, runtime: Runtime, settings: Settings, redis_server: RedisServer
) -> None:
    """A second app on the same runtime, its submissions going to a queue of its own."""
    queue = settings.queue.model_copy(
        update={"redis_url": redis_server.url, "name": new_dataset_name("metrics-queue")}
    )
    app = create_app(settings.model_copy(update={"queue": queue}), runtime=runtime)
    async with app.router.lifespan_context(app):
        redis = app.state.services.redis
        for n in range(3):  # jobs no worker takes: nothing runs here
            assert await redis.enqueue_job("import_file", _job_id=f"depth-{n}", _queue_name=queue.name)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answer = await client.get("/metrics", headers=api.admin)
    assert answer.status_code == 200, answer.text
    depth = [
        s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
        if s.name == "cognition_queue_depth"
    ]
    assert depth == [3]


def _ds(labels: frozenset[tuple[str, str]]) -> tuple[str, str]:
    found = dict(labels)
    return found["dataset"], found["state"]


def _ended_pid() -> int:
    """The pid of a process that has ended (an owner the ledger must call interrupted)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(child.stdout)


@asynccontextmanager
async def _mcp(api: ApiHarness, headers: dict[str, str]) -> AsyncIterator[Client]:
    """An MCP client on the app in this process (no socket)."""
    transport = httpx2.ASGITransport(app=api.app)
    async with (
        httpx2.AsyncClient(transport=transport, headers=headers, timeout=httpx2.Timeout(300)) as http,
        Client(streamable_http_client("http://127.0.0.1/mcp", http_client=http)) as client,
    ):
        yield client


async def test_the_latest_audit_of_each_readable_dataset_is_a_series(
    api: ApiHarness, imported: Imported
) -> None:
    d = imported.name
    _, before = await scrape(api, imported.reader)
    assert not [k for k in before if k[0].startswith("cognition_audit")]  # never audited: absent

    submitted = await api.client.post(f"/v1/datasets/{d}/audits", headers=api.admin)
    assert submitted.status_code == 202, submitted.text
    job = await api.wait_for_job(submitted.json()["job_id"], seconds=120)
    assert job["state"] == "done", job
    audit = (await api.client.get(f"/v1/datasets/{d}/audits/latest", headers=imported.reader)).json()

    _, samples = await scrape(api, imported.reader)
    rank = {"ok": 0, "warn": 1, "critical": 2}
    assert value(samples, "cognition_audit_status", dataset=d) == rank[audit["status"]]
    assert value(samples, "cognition_audit_timestamp_seconds", dataset=d) == audit["finished_at"]
    for check in audit["checks"]:
        labels = {"dataset": d, "check": check["name"]}
        assert (("cognition_audit_check_status", frozenset(labels.items()))) in samples
        assert value(samples, "cognition_audit_check_status", **labels) == rank[check["status"]]
        assert value(samples, "cognition_audit_offenders", **labels) == check["total"]
    assert labelled(samples, "dataset") == {d}  # the other dataset: not readable, not shown

    _, everything = await scrape(api, api.admin)
    audited = {v for (name, labels) in everything if name == "cognition_audit_status" for _, v in labels}
    assert d in audited and imported.other not in audited  # never audited: no series at all
