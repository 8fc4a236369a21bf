"""Graph routes over an imported dataset, and deleting a document and a dataset over HTTP."""

from __future__ import annotations

from pathlib import Path

from cognition.runtime import Runtime
from tests.helpers import ApiDataset, ApiHarness


async def _an_entity(api: ApiHarness, dataset: str) -> dict[str, object]:
    """The first entity that led to the top hit for "git tree object", as the API finds it."""
    found = await api.client.post(
        "/v1/search",
        json={"query": "git tree object", "datasets": [dataset], "mode": "graph"},
        headers=api.admin,
    )
    name = found.json()["hits"][0]["entities"][0]
    entities = await api.client.get(
        f"/v1/datasets/{dataset}/entities", params={"name": name}, headers=api.admin
    )
    first: dict[str, object] = entities.json()["entities"][0]
    assert first["name"] == name
    return first


async def test_entities_are_found_by_name_as_the_extractor_normalizes_it(
    api: ApiHarness, api_library: ApiDataset
) -> None:
    entity = await _an_entity(api, api_library.name)
    name = str(entity["name"])
    for spelling in (name.upper(), f"  {name.lower()}s ", f"{name}'s"):
        found = await api.client.get(
            f"/v1/datasets/{api_library.name}/entities", params={"name": spelling}, headers=api.admin
        )
        assert found.status_code == 200, found.text
        assert [e["entity_id"] for e in found.json()["entities"]] == [entity["entity_id"]], spelling
    assert int(entity["chunks"]) >= 1  # type: ignore[call-overload]


async def test_an_entity_with_its_neighbours_paths_and_mentions(
    api: ApiHarness, api_library: ApiDataset
) -> None:
    base = f"/v1/datasets/{api_library.name}"
    entity = await _an_entity(api, api_library.name)
    tree_id = entity["entity_id"]
    one = (await api.client.get(f"{base}/entities/{tree_id}", params={"limit": 5}, headers=api.admin)).json()
    assert one["entity"]["entity_id"] == tree_id
    assert 1 <= len(one["edges"]) <= 5 and {e["depth"] for e in one["edges"]} == {1}
    assert all(e["relation"] and e["weight"] > 0 for e in one["edges"])
    two = (
        await api.client.get(
            f"{base}/entities/{tree_id}", params={"depth": 2, "limit": 40}, headers=api.admin
        )
    ).json()
    assert max(e["depth"] for e in two["edges"]) == 2
    far = two["edges"][-1]["target"]["entity_id"]
    paths = await api.client.get(
        f"{base}/paths", params={"source": tree_id, "target": far, "max_length": 3}, headers=api.admin
    )
    assert paths.status_code == 200, paths.text
    found = paths.json()["paths"]
    assert found and all(1 <= len(p) <= 2 for p in found)
    assert found[0][0]["source"]["entity_id"] == tree_id and found[0][-1]["target"]["entity_id"] == far
    mentions = (await api.client.get(f"{base}/entities/{tree_id}/chunks", headers=api.admin)).json()["chunks"]
    assert mentions and all(str(entity["name"]).lower() in c["text"].lower() for c in mentions)
    assert all(c["dataset"] == api_library.name and c["page_start"] >= 1 for c in mentions)
    deep = await api.client.get(f"{base}/entities/{tree_id}", params={"depth": 4}, headers=api.admin)
    assert deep.status_code == 422 and "depth" in deep.json()["detail"]


async def test_deleting_a_document_removes_its_chunks_and_keeps_the_other(
    api: ApiHarness, excerpts: dict[str, Path], dataset_name: str
) -> None:
    await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
    ids = {}
    for name in ("git_objects", "bash_expansion"):
        answer = await api.client.post(
            f"/v1/datasets/{dataset_name}/documents",
            files={"file": (f"{name}.pdf", excerpts[name].read_bytes(), "application/pdf")},
            headers=api.admin,
        )
        ids[name] = (await api.wait_for_job(answer.json()["job_id"]))["document_id"]
    base = f"/v1/datasets/{dataset_name}"
    dry = await api.client.delete(
        f"{base}/documents/{ids['git_objects']}", params={"dry_run": True}, headers=api.admin
    )
    assert dry.json()["dry_run"] is True
    assert (
        await api.client.get(f"{base}/documents/{ids['git_objects']}", headers=api.admin)
    ).status_code == 200
    gone = await api.client.delete(f"{base}/documents/{ids['git_objects']}", headers=api.admin)
    assert gone.status_code == 200, gone.text
    assert (
        await api.client.get(f"{base}/documents/{ids['git_objects']}", headers=api.admin)
    ).status_code == 404
    hits = (
        await api.client.post(
            "/v1/search",
            json={"query": "git tree object blob", "datasets": [dataset_name], "top_k": 10},
            headers=api.admin,
        )
    ).json()["hits"]
    assert hits and {h["document_id"] for h in hits} == {ids["bash_expansion"]}


async def test_deleting_a_dataset_needs_admin_and_removes_everything(
    api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path], dataset_name: str
) -> None:
    await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
    answer = await api.client.post(
        f"/v1/datasets/{dataset_name}/documents",
        files={"file": ("x.pdf", excerpts["bash_expansion"].read_bytes(), "application/pdf")},
        headers=api.admin,
    )
    await api.wait_for_job(answer.json()["job_id"])
    writer = api.key(f"write:{dataset_name}")
    refused = await api.client.delete(f"/v1/datasets/{dataset_name}", headers=writer)
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    deleted = await api.client.delete(f"/v1/datasets/{dataset_name}", headers=api.admin)
    assert deleted.status_code == 200 and deleted.json()["documents"] == 1
    assert (await api.client.get(f"/v1/datasets/{dataset_name}", headers=api.admin)).status_code == 404
    assert runtime.ledger.documents(dataset_name) == [] and runtime.ledger.jobs(dataset_name) == []
    assert not await runtime.store.dataset_exists(dataset_name)
    assert not (runtime.paths.uploads / dataset_name).exists()
    names = [d["name"] for d in (await api.client.get("/v1/datasets", headers=api.admin)).json()["datasets"]]
    assert dataset_name not in names


async def test_a_document_being_imported_is_not_deleted_under_its_import(
    api: ApiHarness, runtime: Runtime, dataset_name: str
) -> None:
    """Its import would write it again after the delete; the answer is "retry later"."""
    from cognition.ledger import DocumentRecord, this_process

    await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
    row = DocumentRecord(
        dataset_name, "doc-1", "/books/a.pdf", "ab" * 32, "pdf", "embedding", owner=this_process()
    )
    runtime.ledger.upsert(row)
    answer = await api.client.delete(f"/v1/datasets/{dataset_name}/documents/doc-1", headers=api.admin)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "DocumentBusy" and answer.json()["retryable"] is True
    assert answer.headers["retry-after"] == "10"
    assert runtime.ledger.get(dataset_name, "doc-1") is not None
    runtime.ledger.set_state(dataset_name, "doc-1", "failed", error="stopped")
    gone = await api.client.delete(f"/v1/datasets/{dataset_name}/documents/doc-1", headers=api.admin)
    assert gone.status_code == 200 and runtime.ledger.get(dataset_name, "doc-1") is None
