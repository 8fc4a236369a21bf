"""The audit routes: submit one (admin; a job, polled to its end), the history newest first,
the latest as JSON and as a self-contained HTML page; scoped keys as every route (out of
scope = not found)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from cognition.ledger import DocumentRecord
from cognition.runtime import Runtime
from tests.helpers import ApiHarness
from tests.integration.test_audit import _imported


async def test_run_list_latest_and_html(api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path]) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "api-audits")
    reader = api.key(f"read:{dataset}")
    base = f"/v1/datasets/{dataset}/audits"

    none = await api.client.get(f"{base}/latest", headers=reader)
    assert none.status_code == 404 and none.json()["error"] == "AuditNotFound"
    assert (await api.client.get(f"{base}/latest.html", headers=reader)).status_code == 404
    assert (await api.client.get(base, headers=reader)).json() == {"audits": []}

    bad = str(uuid.uuid4())
    runtime.ledger.upsert(
        DocumentRecord(dataset, bad, "/x.pdf", f"h-{bad}", "pdf", "failed", error="<script>x</script>")
    )
    first = await _audited(api, base)
    second = await _audited(api, base)
    assert first["state"] == second["state"] == "done", second
    assert first["kind"] == "audit" and first["job_id"] == f"audit:{dataset}"
    assert second["result"]["status"] == "critical"  # one failed of two documents
    assert second["result"]["checks"]["failed_documents"] == "critical"

    history = (await api.client.get(base, params={"limit": 5}, headers=reader)).json()["audits"]
    assert [a["id"] for a in history] == [second["result"]["audit_id"], first["result"]["audit_id"]]
    latest = await api.client.get(f"{base}/latest", headers=reader)
    ran = latest.json()
    assert latest.status_code == 200 and ran["id"] == second["result"]["audit_id"]
    assert ran["dataset"] == dataset and ran["status"] == "critical"
    failed = next(c for c in ran["checks"] if c["name"] == "failed_documents")
    assert failed["offenders"] == [bad]

    page = await api.client.get(f"{base}/latest.html", headers=reader)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # the page runs nothing and fetches nothing, and says so to the browser
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "failed_documents" in page.text and "<script" not in page.text
    assert f'href="/v1/datasets/{dataset}/documents/{bad}"' in page.text
    assert "trends over 2 audits" in page.text


async def test_rights_and_scope(api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path]) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "api-audits-scope")
    base = f"/v1/datasets/{dataset}/audits"
    reader, writer = api.key(f"read:{dataset}"), api.key(f"write:{dataset}")
    outsider = api.key("read:someone-else")

    assert (await api.client.post(base, headers=reader)).status_code == 403
    assert (await api.client.post(base, headers=writer)).status_code == 403
    assert (await api.client.post(base, headers=api.admin)).status_code == 202

    for method, path in (
        ("GET", base),
        ("GET", f"{base}/latest"),
        ("GET", f"{base}/latest.html"),
        ("POST", base),
    ):
        hidden = await api.client.request(method, path, headers=outsider)
        missing = await api.client.request(method, path.replace(dataset, "no-such-dataset"), headers=outsider)
        assert hidden.status_code == missing.status_code == 404, path
        assert hidden.json()["detail"].replace(dataset, "X") == missing.json()["detail"].replace(
            "no-such-dataset", "X"
        )
    assert (await api.client.get(base, headers={})).status_code == 401


async def test_the_html_route_documents_its_errors_as_json(api: ApiHarness) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    answers = schema["paths"]["/v1/datasets/{dataset}/audits/latest.html"]["get"]["responses"]
    assert list(answers["200"]["content"]) == ["text/html"]
    assert all(list(answers[code]["content"]) == ["application/json"] for code in ("401", "403", "404"))


async def _audited(api: ApiHarness, base: str) -> dict[str, Any]:
    """Submit an audit, then poll its job to the end, as a client does."""
    submitted = await api.client.post(base, headers=api.admin)
    assert submitted.status_code == 202, submitted.text
    body = submitted.json()
    assert submitted.headers["location"] == f"/v1/jobs/{body['job_id']}"
    return await api.wait_for_job(body["job_id"], seconds=120)


async def test_an_audit_already_queued_is_answered_with_its_job(
    api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "api-audits-twice")
    base = f"/v1/datasets/{dataset}/audits"
    answers = [await api.client.post(base, headers=api.admin) for _ in range(2)]
    bodies = [a.json() for a in answers]
    assert [a.status_code for a in answers] == [202, 202]
    assert bodies[0]["job_id"] == bodies[1]["job_id"] == f"audit:{dataset}"
    # the second submission either found the first still queued or running, or (it was
    # quick) queued the next audit: never two live audits of one dataset
    assert bodies[0]["status"] == "accepted" and bodies[1]["status"] in ("in_progress", "accepted")
    done = await api.wait_for_job(bodies[0]["job_id"], seconds=120)
    assert done["state"] == "done" and done["result"]["dataset"] == dataset
    stored = runtime.ledger.audits(dataset, limit=5)
    assert len(stored) == (1 if bodies[1]["status"] == "in_progress" else 2)
