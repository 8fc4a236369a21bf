"""A crawl submitted over HTTP, of the shared documentation site served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.sites import serve_site
from tests.helpers import ApiHarness


@pytest.fixture
def loopback_allowed(api: ApiHarness) -> Iterator[None]:
    """This server's crawls may reach 127.0.0.1 (as an operator would configure it)."""
    crawl = api.app.state.services.runtime.settings.crawl
    saved = (crawl.allow_networks, crawl.delay_seconds)
    crawl.allow_networks, crawl.delay_seconds = ["127.0.0.0/8"], 0
    yield
    crawl.allow_networks, crawl.delay_seconds = saved


async def test_a_crawl_submitted_over_http_is_imported_and_its_pages_cite_their_urls(
    api: ApiHarness, loopback_allowed: None, dataset_name: str
) -> None:
    with serve_site() as site:
        await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
        submitted = await api.client.post(
            f"/v1/datasets/{dataset_name}/crawls",
            json={"seeds": [site.url("/")], "max_pages": 6, "max_depth": 1},
            headers=api.admin,
        )
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["job_id"].startswith(f"crawl:{dataset_name}:")
        job = await api.wait_for_job(submitted.json()["job_id"])
    assert job["state"] == "done", job
    assert job["kind"] == "crawl" and job["documents"]["done"] == 6 and job["documents"]["failed"] == 0
    found = await api.client.post(
        "/v1/search",
        json={"query": "install the package", "datasets": [dataset_name], "mode": "vector", "top_k": 3},
        headers=api.admin,
    )
    hits = found.json()["hits"]
    assert hits and all(h["source"].startswith(site.base + "/") for h in hits)
    assert all(h["page_start"] is None and h["page_end"] is None for h in hits)


async def test_a_crawl_of_a_private_address_is_refused_by_the_default_guard(
    api: ApiHarness, dataset_name: str
) -> None:
    with serve_site() as site:
        await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
        submitted = await api.client.post(
            f"/v1/datasets/{dataset_name}/crawls", json={"seeds": [site.url("/")]}, headers=api.admin
        )
        job = await api.wait_for_job(submitted.json()["job_id"])
        assert site.requests == []
    assert job["state"] == "failed"
    assert "127.0.0.1" in job["error"] and job["failures"][0]["source"] == site.url("/")
