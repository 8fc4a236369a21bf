"""The leak matrix: a key scoped to dataset A probes dataset B (``api-library``) through
every route, by name, document id, job id, chunk id, entity id and by searching "all my
datasets". Nothing of B comes back, and every answer is exactly the answer about a
target that does not exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.helpers import ApiDataset, ApiHarness

FAKE = {
    "dataset": "no-such-dataset",
    "doc": "00000000-0000-5000-8000-000000000000",
    "job": "ingest:no-such-dataset:" + "0" * 64 + ":v0",
    "chunk": "00000000-0000-5000-8000-000000000001",
    "entity": "00000000-0000-5000-8000-000000000002",
}


@dataclass
class Leak:
    a: str  # the key's own dataset
    headers: dict[str, str]  # read, write and admin on A only
    b: dict[str, str]  # B's real name and ids
    secrets: list[str]  # strings of B that must never come back


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def leak(api: ApiHarness, api_library: ApiDataset, excerpts: dict[str, Path]) -> Leak:
    a = "leak-a"
    await api.client.post("/v1/datasets", json={"name": a}, headers=api.admin)
    answer = await api.client.post(
        f"/v1/datasets/{a}/documents",
        files={"file": ("a.pdf", excerpts["bash_expansion"].read_bytes(), "application/pdf")},
        headers=api.admin,
    )
    assert answer.status_code in (202, 409), answer.text
    await api.wait_for_job(answer.json()["job_id"])
    job = api_library.jobs["git_objects"]
    b = api_library.name
    hits = (
        await api.client.post(
            "/v1/search",
            json={"query": "git tree object", "datasets": [b], "mode": "graph"},
            headers=api.admin,
        )
    ).json()["hits"]
    entity_name = hits[0]["entities"][0]
    entity = (
        await api.client.get(f"/v1/datasets/{b}/entities", params={"name": entity_name}, headers=api.admin)
    ).json()["entities"][0]
    real = {
        "dataset": b,
        "doc": job["document_id"],
        "job": job["job_id"],
        "chunk": hits[0]["chunk_id"],
        "entity": entity["entity_id"],
    }
    secrets = [
        job["document_id"],
        hits[0]["chunk_id"],
        entity["entity_id"],
        hits[0]["text"][:40],
        "git-objects",
    ]
    return Leak(a, api.key(f"admin:{a}"), real, secrets)


# (method, path, JSON body): {dataset}, {doc}, {job}, {chunk}, {entity} are B's (or fake ones);
# {a} is the key's own dataset, probed with B's ids.
PROBES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/datasets/{dataset}", None),
    ("DELETE", "/v1/datasets/{dataset}", None),
    ("GET", "/v1/datasets/{dataset}/documents", None),
    ("GET", "/v1/datasets/{dataset}/documents/{doc}", None),
    ("DELETE", "/v1/datasets/{dataset}/documents/{doc}", None),
    ("GET", "/v1/datasets/{dataset}/jobs", None),
    ("POST", "/v1/datasets/{dataset}/crawls", {"seeds": ["https://example.org/"]}),
    ("GET", "/v1/datasets/{dataset}/chunks/{chunk}", None),
    ("GET", "/v1/datasets/{dataset}/entities?name=git", None),
    ("GET", "/v1/datasets/{dataset}/entities/{entity}", None),
    ("GET", "/v1/datasets/{dataset}/entities/{entity}/chunks", None),
    ("GET", "/v1/datasets/{dataset}/paths?source={entity}&target={entity}", None),
    ("POST", "/v1/search", {"query": "git tree object", "datasets": ["{dataset}"]}),
    ("GET", "/v1/jobs/{job}", None),
    ("GET", "/v1/datasets/{a}/documents/{doc}", None),
    ("DELETE", "/v1/datasets/{a}/documents/{doc}", None),
    ("GET", "/v1/datasets/{a}/chunks/{chunk}", None),
    ("GET", "/v1/datasets/{a}/entities/{entity}", None),
    ("GET", "/v1/datasets/{a}/entities/{entity}/chunks", None),
    ("GET", "/v1/datasets/{a}/paths?source={entity}&target={entity}", None),
]


def _fill(template: Any, values: dict[str, str]) -> Any:
    text = json.dumps(template)
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return json.loads(text)


def _normalized(body: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[1])):  # a job id holds the name
        if name != "a":
            body = body.replace(value, f"<{name}>")
    return body


@pytest.mark.parametrize(("method", "path", "body"), PROBES, ids=[f"{m} {p}" for m, p, _ in PROBES])
async def test_a_dataset_outside_the_key_answers_as_one_that_does_not_exist(
    api: ApiHarness, leak: Leak, method: str, path: str, body: Any
) -> None:
    answers = []
    for values in ({**leak.b, "a": leak.a}, {**FAKE, "a": leak.a}):
        answer = await api.client.request(
            method,
            _fill(path, values),
            json=None if body is None else _fill(body, values),
            headers=leak.headers,
        )
        answers.append((answer.status_code, _normalized(answer.text, values)))
        if values["dataset"] == leak.b["dataset"]:
            asked = json.dumps([_fill(path, values), _fill(body, values)])
            told = [secret for secret in leak.secrets if secret in answer.text and secret not in asked]
            assert not told, answer.text  # only what the request itself named may be echoed
    assert answers[0] == answers[1]
    assert answers[0][0] == 404, answers[0]


async def test_lists_and_searches_over_every_dataset_show_only_the_keys_own(
    api: ApiHarness, leak: Leak
) -> None:
    listed = (await api.client.get("/v1/datasets", headers=leak.headers)).json()
    assert [d["name"] for d in listed["datasets"]] == [leak.a]
    found = await api.client.post(
        "/v1/search", json={"query": "git tree object blob", "top_k": 20}, headers=leak.headers
    )
    assert found.status_code == 200, found.text
    assert found.json()["datasets"] == [leak.a]
    assert {h["dataset"] for h in found.json()["hits"]} == {leak.a}
    assert not any(secret in found.text for secret in leak.secrets)


async def test_b_is_still_there_for_a_key_that_may_read_it(api: ApiHarness, leak: Leak) -> None:
    """The probes above answered 404 because of scope, not because B is gone."""
    reader = api.key(f"read:{leak.b['dataset']}")
    for path in ("/v1/datasets/{dataset}", "/v1/datasets/{dataset}/chunks/{chunk}", "/v1/jobs/{job}"):
        answer = await api.client.get(_fill(path, leak.b), headers=reader)
        assert answer.status_code == 200, (path, answer.text)
