"""Upload → job → searchable over HTTP, with provenance; the same upload again is a 409
pointing at the first; the one error shape; health."""

from __future__ import annotations

from pathlib import Path

import httpx

from api import create_app
from cognition.runtime import Runtime
from cognition.settings import Settings
from tests.helpers import ApiDataset, ApiHarness


async def test_health_needs_no_key_and_readiness_reports_its_checks(api: ApiHarness) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"ledger": "ok", "graph": "ok", "vectors": "ok", "cognee_db": "ok"}
    assert all(check["ok"] and check["error"] is None for check in ready.json()["backends"])
    assert ready.json()["imports"] == "in_process"


async def test_every_other_route_needs_a_valid_key(api: ApiHarness) -> None:
    for headers in ({}, {"Authorization": "Bearer cog_not-a-key"}, {"Authorization": "Basic abc"}):
        answer = await api.client.get("/v1/datasets", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        body = answer.json()
        assert set(body) == {"error", "detail", "hint", "retryable"}
        assert body["error"] == "Unauthenticated" and body["retryable"] is False


async def test_an_uploaded_pdf_is_imported_by_its_job_and_found_with_its_pages(
    api: ApiHarness, api_library: ApiDataset
) -> None:
    job = api_library.jobs["git_objects"]
    assert job["documents"] == {"total": 1, "done": 1, "failed": 0}
    assert job["pages"]["total"] == 5 and job["pages"]["done"] == 5
    assert job["failures"] == [] and job["attempts"] == 1
    answer = await api.client.post(
        "/v1/search",
        json={"query": "how does git store a tree object", "datasets": [api_library.name], "mode": "hybrid"},
        headers=api.admin,
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["status"] == "ok" and found["hits"]
    top = found["hits"][0]
    assert top["dataset"] == api_library.name
    assert top["document_id"] == job["document_id"]
    assert 1 <= top["page_start"] <= top["page_end"] <= 5
    assert "tree" in top["text"].lower()
    chunk = await api.client.get(
        f"/v1/datasets/{api_library.name}/chunks/{top['chunk_id']}", headers=api.admin
    )
    assert chunk.status_code == 200 and chunk.json()["text"].startswith(top["text"].removesuffix(" …")[:50])


async def test_the_same_upload_again_is_a_409_pointing_at_the_first(
    api: ApiHarness, api_library: ApiDataset, excerpts: dict[str, Path]
) -> None:
    first = api_library.jobs["git_objects"]
    path = excerpts["git_objects"]
    again = await api.client.post(
        f"/v1/datasets/{api_library.name}/documents",
        files={"file": ("renamed.pdf", path.read_bytes(), "application/pdf")},
        headers=api.admin,
    )
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["error"] == "Conflict" and body["reason"] == "exists"
    assert body["document_id"] == first["document_id"] and body["job_id"] == first["job_id"]
    assert body["retryable"] is False


async def test_documents_list_with_state_pages_and_chunks(api: ApiHarness, api_library: ApiDataset) -> None:
    page = await api.client.get(f"/v1/datasets/{api_library.name}/documents?limit=1", headers=api.admin)
    assert page.status_code == 200, page.text
    first = page.json()
    assert len(first["documents"]) == 1 and first["next_cursor"]
    rest = await api.client.get(
        f"/v1/datasets/{api_library.name}/documents",
        params={"cursor": first["next_cursor"]},
        headers=api.admin,
    )
    documents = first["documents"] + rest.json()["documents"]
    assert rest.json()["next_cursor"] is None
    assert {d["state"] for d in documents} == {"stored"}
    assert all(d["pages"] == 5 and d["chunks"] > 0 for d in documents)
    ids = {d["document_id"] for d in documents}
    assert ids == {job["document_id"] for job in api_library.jobs.values()}


async def test_search_filters_keep_only_the_documents_sources_and_sections_asked(
    api: ApiHarness, api_library: ApiDataset
) -> None:
    git = api_library.jobs["git_objects"]["document_id"]
    bash = api_library.jobs["bash_expansion"]["document_id"]

    async def hits(filters: dict[str, object]) -> list[dict[str, object]]:
        body = {
            "query": "objects and parameters",
            "datasets": [api_library.name],
            "top_k": 10,
            "filters": filters,
        }
        answer = await api.client.post("/v1/search", json=body, headers=api.admin)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, object]] = answer.json()["hits"]
        return found

    both = await hits({})
    assert {h["document_id"] for h in both} == {git, bash}
    assert {h["document_id"] for h in await hits({"document_ids": [bash]})} == {bash}
    source = str(next(h["source"] for h in both if h["document_id"] == git))
    assert {h["document_id"] for h in await hits({"source_prefix": source})} == {git}
    section = next(h["section"] for h in both if h["section"])[-1]
    kept = await hits({"section": str(section).upper()})
    assert kept and all(any(str(section) in title for title in h["section"]) for h in kept)
    nothing = await api.client.post(
        "/v1/search",
        json={"query": "objects", "datasets": [api_library.name], "filters": {"source_prefix": "/nowhere/"}},
        headers=api.admin,
    )
    assert nothing.json()["hits"] == [] and nothing.json()["status"] == "no_match"


async def test_a_key_over_its_rate_gets_429_with_retry_after(
    api: ApiHarness, runtime: Runtime, settings: Settings
) -> None:
    """A second app on the same runtime with a burst of 2 and one request a minute."""
    strict = settings.model_copy(
        update={"api": settings.api.model_copy(update={"rate_limit_burst": 2, "rate_limit_per_minute": 1})}
    )
    app = create_app(strict, runtime=runtime)
    headers = api.key("read:*")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers = [await client.get("/v1/datasets", headers=headers) for _ in range(3)]
            other = await client.get("/v1/datasets", headers=api.key("read:*"))
    assert [a.status_code for a in answers] == [200, 200, 429]
    body = answers[2].json()
    assert body["error"] == "RateLimited" and body["retryable"] is True
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60
    assert other.status_code == 200  # the limit is per key


async def test_a_dataset_created_from_a_manifest_body_imports_files_inside_the_import_roots(
    api: ApiHarness, excerpts: dict[str, Path], dataset_name: str
) -> None:
    book = excerpts["bash_expansion"]
    sources = [{"kind": "pdf", "paths": [str(book), "relative/book.pdf"]}]
    queue = api.app.state.services.settings.queue
    refused = await api.client.post(
        "/v1/datasets",
        json={"name": dataset_name, "description": "shell", "sources": sources},
        headers=api.admin,
    )
    assert refused.status_code == 201, refused.text
    reasons = [s["reason"] for s in refused.json()["submissions"]]
    assert [s["status"] for s in refused.json()["submissions"]] == ["rejected", "rejected"]
    assert "COGNITION_QUEUE__IMPORT_ROOTS" in reasons[0] and "must be absolute" in reasons[1]
    queue.import_roots = [book.parent]  # the job checks it again when it runs
    try:
        again = await api.client.post(
            "/v1/datasets", json={"name": dataset_name, "sources": sources}, headers=api.admin
        )
        assert again.status_code == 200 and again.json()["created"] is False
        accepted = [s for s in again.json()["submissions"] if s["status"] == "accepted"]
        assert len(accepted) == 1
        job = await api.wait_for_job(accepted[0]["job_id"])
    finally:
        queue.import_roots = []
    assert job["state"] == "done"
    described = (await api.client.get(f"/v1/datasets/{dataset_name}", headers=api.admin)).json()
    assert described["description"] == "shell" and described["documents"]["stored"] == 1
    assert described["stats"]["chunks"] > 0 and described["embedding_model"]
