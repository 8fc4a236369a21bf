"""Upload → job → searchable over HTTP, with provenance; the same upload again is a 409
pointing at the first; the one error shape; health."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import ApiDataset, ApiHarness


async def test_health_needs_no_key_and_readiness_reports_its_checks(api: ApiHarness) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"ledger": "ok", "store": "ok"}
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
