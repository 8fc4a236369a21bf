"""Bad input gets a clear 4xx in the one error shape, and leaves nothing on disk or in the
ledger; none of it is a 5xx."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cognition.runtime import Runtime
from tests.helpers import ApiDataset, ApiHarness


def _uploads(runtime: Runtime) -> list[Path]:
    root = runtime.paths.uploads
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
async def empty_dataset(api: ApiHarness, dataset_name: str) -> str:
    answer = await api.client.post("/v1/datasets", json={"name": dataset_name}, headers=api.admin)
    assert answer.status_code == 201, answer.text
    return dataset_name


def _error(answer: object, status: int, error: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    assert set(body) >= {"error", "detail", "hint", "retryable"} and body["error"] == error, body
    return body


async def test_an_oversized_upload_is_413_and_leaves_nothing(
    api: ApiHarness, runtime: Runtime, empty_dataset: str, excerpts: dict[str, Path]
) -> None:
    before = _uploads(runtime)
    services = api.app.state.services
    limit = services.settings.api.max_upload_bytes
    services.settings.api.max_upload_bytes = 4096
    try:
        answer = await api.client.post(
            f"/v1/datasets/{empty_dataset}/documents",
            files={"file": ("big.pdf", excerpts["git_objects"].read_bytes(), "application/pdf")},
            headers=api.admin,
        )
    finally:
        services.settings.api.max_upload_bytes = limit
    body = _error(answer, 413, "TooLarge")
    assert "4,096 bytes" in str(body["detail"])
    assert _uploads(runtime) == before
    assert runtime.ledger.documents(empty_dataset) == [] and runtime.ledger.jobs(empty_dataset) == []


@pytest.mark.parametrize(
    ("name", "content", "kind", "status", "error"),
    [
        ("notes.pdf", b"hello, not a pdf at all", "application/pdf", 415, "NotAPdf"),
        ("book.pdf", b"%PDF-1.4 pretend", "text/plain", 415, "UnsupportedMediaType"),
        ("empty.pdf", b"", "application/pdf", 422, "EmptyFile"),
    ],
)
async def test_a_file_that_is_not_a_pdf_is_refused_and_leaves_nothing(
    api: ApiHarness,
    runtime: Runtime,
    empty_dataset: str,
    name: str,
    content: bytes,
    kind: str,
    status: int,
    error: str,
) -> None:
    before = _uploads(runtime)
    answer = await api.client.post(
        f"/v1/datasets/{empty_dataset}/documents", files={"file": (name, content, kind)}, headers=api.admin
    )
    _error(answer, status, error)
    assert _uploads(runtime) == before
    assert runtime.ledger.documents(empty_dataset) == [] and runtime.ledger.jobs(empty_dataset) == []


async def test_a_body_that_is_not_multipart_is_415(api: ApiHarness, empty_dataset: str) -> None:
    answer = await api.client.post(
        f"/v1/datasets/{empty_dataset}/documents",
        content=b"%PDF-1.4",
        headers={**api.admin, "content-type": "application/pdf"},
    )
    _error(answer, 415, "UnsupportedMediaType")


async def test_a_malformed_multipart_body_is_422_not_a_server_error(
    api: ApiHarness, empty_dataset: str
) -> None:
    boundary = "0d37f771f3609e9baf6be26654101f5f"
    body = f"--{boundary}\r\nTrue--{boundary}--\r\n".encode()  # found by schemathesis: it was a 500
    headers = {**api.admin, "content-type": f"multipart/form-data; boundary={boundary}"}
    answer = await api.client.post(f"/v1/datasets/{empty_dataset}/documents", content=body, headers=headers)
    assert "multipart body cannot be parsed" in str(_error(answer, 422, "InvalidRequest")["detail"])


async def test_a_path_in_the_file_name_is_ignored_the_file_is_kept_under_its_hash(
    api: ApiHarness, runtime: Runtime, empty_dataset: str, excerpts: dict[str, Path], tmp_path: Path
) -> None:
    data = excerpts["bash_expansion"].read_bytes()
    for name in ("../../../../tmp/evil.pdf", "/etc/passwd"):
        answer = await api.client.post(
            f"/v1/datasets/{empty_dataset}/documents",
            files={"file": (name, data, "application/pdf")},
            headers=api.admin,
        )
        assert answer.status_code in (202, 409), answer.text
    digest = hashlib.sha256(data).hexdigest()
    kept = runtime.paths.uploads / empty_dataset / f"{digest}.pdf"
    assert kept.read_bytes() == data
    assert not Path("/tmp/evil.pdf").exists()
    assert [p.name for p in (runtime.paths.uploads / empty_dataset).iterdir()] == [kept.name]
    job = await api.wait_for_job(answer.json()["job_id"])
    assert job["state"] == "done"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"query": "x", "mode": "fuzzy"}, "mode"),
        ({"query": "x", "top_k": 10_000}, "top_k"),
        ({"query": ""}, "query"),
        ({"query": "x", "top_k": "many"}, "top_k"),
        ({"qurey": "x"}, "query"),
    ],
)
async def test_a_bad_search_is_422_naming_the_field(
    api: ApiHarness, api_library: ApiDataset, body: dict[str, object], where: str
) -> None:
    answer = await api.client.post("/v1/search", json=body, headers=api.admin)
    detail = str(_error(answer, 422, "InvalidRequest")["detail"])
    assert where in detail
    if where == "mode":
        assert all(mode in detail for mode in ("vector", "graph", "hybrid"))


async def test_malformed_json_is_422(api: ApiHarness) -> None:
    answer = await api.client.post(
        "/v1/search", content=b'{"query": "x",', headers={**api.admin, "content-type": "application/json"}
    )
    _error(answer, 422, "InvalidRequest")


async def test_unknown_routes_and_methods_answer_in_the_one_shape(api: ApiHarness) -> None:
    _error(await api.client.get("/v1/nothing-here", headers=api.admin), 404, "NotFound")
    _error(await api.client.put("/v1/search", headers=api.admin), 405, "MethodNotAllowed")
