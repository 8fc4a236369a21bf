"""The repair routes: a dry run by default (admin), applying on request, the recorded history;
scoped keys as every route (no admin right = 403, out of scope = not found)."""

from __future__ import annotations

from pathlib import Path

from cognition.datasets import chunk_id, entity_id
from cognition.runtime import Runtime
from tests.helpers import ApiHarness
from tests.integration.test_audit import _imported, _write_entities


async def test_dry_run_by_default_then_apply_and_history(
    api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "api-repairs")
    [doc] = runtime.ledger.documents(dataset)
    await _write_entities(
        runtime, dataset, doc, ["zzapiorphan"], mentioned_by=chunk_id(doc.doc_id, 0), mentioned=()
    )
    orphan = entity_id(dataset, "zzapiorphan")
    base = f"/v1/datasets/{dataset}/repairs"

    dry = await api.client.post(base, json={}, headers=api.admin)

    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True and body["jobs"] == []
    assert [r["kind"] for r in body["repairs"]] == ["orphans", "vectors", "stray", "failed"]  # no merges
    orphans = body["repairs"][0]
    assert [c["id"] for c in orphans["changes"]] == [orphan] and orphans["found"] == 1
    assert "'zzapiorphan'" in orphans["changes"][0]["change"]
    assert [e.id for e in await runtime.store.get_entities(dataset, [orphan])] == [orphan]  # still there

    applied = await api.client.post(base, json={"only": ["orphans"], "apply": True}, headers=api.admin)

    assert applied.status_code == 200, applied.text
    done = applied.json()
    assert done["dry_run"] is False and [r["kind"] for r in done["repairs"]] == ["orphans"]
    assert [c["id"] for c in done["repairs"][0]["changes"]] == [orphan]
    assert await runtime.store.get_entities(dataset, [orphan]) == []

    reader = api.key(f"read:{dataset}")
    history = await api.client.get(base, headers=reader)
    assert history.status_code == 200
    rows = [(r["kind"], r["dry_run"], r["count"]) for r in history.json()["repairs"]]
    assert (
        rows[0] == ("orphans", False, 1) and ("orphans", True, 1) in rows and len(rows) == 5
    )  # four kinds dry, one applied
    assert history.json()["repairs"][0]["details"]["changes"][0]["id"] == orphan


async def test_rights_scope_and_bad_input(
    api: ApiHarness, runtime: Runtime, excerpts: dict[str, Path]
) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "api-repairs-scope")
    base = f"/v1/datasets/{dataset}/repairs"
    reader, writer = api.key(f"read:{dataset}"), api.key(f"write:{dataset}")
    outsider = api.key("read:someone-else")

    for key in (reader, writer):
        refused = await api.client.post(base, json={"apply": True}, headers=key)
        assert refused.status_code == 403, refused.text
    assert runtime.ledger.repairs(dataset) == []  # nothing ran, nothing recorded
    for method in ("GET", "POST"):
        hidden = await api.client.request(method, base, json={}, headers=outsider)
        missing = await api.client.request(
            method, base.replace(dataset, "no-such-dataset"), json={}, headers=outsider
        )
        assert hidden.status_code == missing.status_code == 404, method
    unknown = await api.client.post(base.replace(dataset, "no-such-dataset"), json={}, headers=api.admin)
    assert unknown.status_code == 404
    bad = await api.client.post(base, json={"only": ["everything"]}, headers=api.admin)
    assert bad.status_code == 422 and "only.0: Input should be" in bad.json()["detail"]
    assert (await api.client.post(base, json={}, headers={})).status_code == 401
