"""The operator page and its login: the same scoped keys as the API, kept in an HttpOnly,
SameSite=Strict cookie that only the GET routes of HTML pages read; a bad or revoked key
answers the login page saying so; every untrusted string escaped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from api import create_app
from api.auth import COOKIE
from cognition.keys import open_keys, parse_grant
from cognition.ledger import DocumentRecord, JobRecord
from cognition.ledger.audits import AuditRecord
from cognition.runtime import Runtime
from cognition.settings import Settings
from tests.helpers import ApiHarness, new_dataset_name

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
_RUNNING: list[str] = []  # the running jobs a test planted


@pytest.fixture(autouse=True)
def _clean_up(api: ApiHarness, runtime: Runtime) -> Iterator[None]:
    """The session's client keeps what a login sets, and a planted running job would be
    requeued by the next runner to start in this session: both gone after each test."""
    yield
    api.client.cookies.clear()
    while _RUNNING:
        runtime.ledger.update_job(_RUNNING.pop(), state="done", finished_at=time.time())


def _secret(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _planted(runtime: Runtime) -> tuple[str, str, str]:
    """A dataset with a stored and a failed document, a finished and a running job, one
    audit; and a second dataset. Untrusted text (description, reason, source) is a script."""
    ledger = runtime.ledger
    dataset, other = new_dataset_name("ui"), new_dataset_name("ui-other")
    ledger.register_dataset(dataset, f"books {EVIL}")
    ledger.register_dataset(other, "not yours")
    stored, failed = str(uuid.uuid4()), str(uuid.uuid4())
    ledger.upsert(
        DocumentRecord(dataset, stored, "/b/git.pdf", f"h-{stored}", "pdf", "stored", pages=5, chunks=9)
    )
    ledger.upsert(
        DocumentRecord(dataset, failed, f"/b/{EVIL}.pdf", f"h-{failed}", "pdf", "failed", error=EVIL)
    )
    now = time.time()
    running = JobRecord(f"job-{uuid.uuid4()}", dataset, "file", "/b/big.pdf", {}, state="running")
    running.started_at, running.pages_total, running.pages_done = now - 60, 100, 25
    done = JobRecord(f"job-{uuid.uuid4()}", dataset, "file", "/b/git.pdf", {}, state="done")
    done.documents_done, done.pages_done, done.started_at, done.finished_at = 1, 5, now - 9, now
    assert ledger.add_job(running) and ledger.add_job(done)  # never queued: no runner takes them
    _RUNNING.append(running.job_id)
    checks = [{"name": "counts", "status": "ok", "values": {"nodes": {"Entity": 42}}}]
    ledger.add_audit(AuditRecord(dataset, time.time() - 5, time.time(), "warn", checks))
    return dataset, other, running.job_id


async def _login(api: ApiHarness, secret: str, **headers: str) -> httpx.Response:
    return await api.client.post("/ui/login", data={"key": secret}, headers=headers)


async def test_login_sets_a_strict_cookie_and_the_page_shows_what_the_key_may_read(
    api: ApiHarness, runtime: Runtime
) -> None:
    dataset, other, running = _planted(runtime)
    reader = _secret(api.key(f"read:{dataset}"))

    anonymous = await api.client.get("/ui")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/ui/login"
    form = await api.client.get("/ui/login")
    assert form.status_code == 200 and 'name="key"' in form.text and 'type="password"' in form.text

    logged = await _login(api, reader, origin="http://testserver")
    assert logged.status_code == 303 and logged.headers["location"] == "/ui"
    cookie = logged.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={reader};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https sets it

    page = await api.client.get("/ui", cookies={COOKIE: reader})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert f"<strong>{dataset}</strong>" in text and other not in text
    assert '<span class="status warn">warn</span>' in text and "<td>42</td>" in text  # health, entities
    assert f'href="/v1/datasets/{dataset}/audits/latest.html"' in text
    assert "failed 1, stored 1" in text and "<td>5</td><td>9</td>" in text  # documents, pages, chunks
    assert running in text and '<progress max="100" value="25"></progress> 25 / 100 pages' in text
    assert "<td>3 min " in text  # its ETA: 75 pages left at about 25 pages a minute
    assert "Recent imports" in text and '<span class="status done">done</span>' in text
    assert "<script" not in text and text.count(ESCAPED) == 3  # description, source, reason
    assert 'http-equiv="refresh"' in text and "http://" not in text and "https://" not in text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_dataset_never_audited_says_so(api: ApiHarness, runtime: Runtime) -> None:
    dataset = new_dataset_name("ui-new")
    runtime.ledger.register_dataset(dataset)
    page = await api.client.get("/ui", headers=api.key(f"read:{dataset}"))  # a header works too
    assert page.status_code == 200
    row = page.text.split(f"<strong>{dataset}</strong>")[1].split("</tr>")[0]
    assert "never audited" in row and "no audit yet" in row and "latest.html" not in row


async def test_the_cookie_opens_html_pages_and_nothing_else(api: ApiHarness, runtime: Runtime) -> None:
    dataset, _, _ = _planted(runtime)
    admin = {COOKIE: _secret(api.admin)}

    report = await api.client.get(f"/v1/datasets/{dataset}/audits/latest.html", cookies=admin)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    for method, path in (
        ("GET", "/v1/datasets"),
        ("GET", f"/v1/datasets/{dataset}/audits/latest"),
        ("POST", f"/v1/datasets/{dataset}/audits"),
        ("DELETE", f"/v1/datasets/{dataset}"),
        ("GET", "/metrics"),
    ):
        answer = await api.client.request(method, path, cookies=admin)
        assert answer.status_code == 401, (method, path, answer.text)
    assert runtime.ledger.dataset(dataset) is not None


async def test_a_bad_or_revoked_key_gets_the_login_page_saying_so(
    api: ApiHarness, settings: Settings, runtime: Runtime
) -> None:
    dataset, _, _ = _planted(runtime)
    report = f"/v1/datasets/{dataset}/audits/latest.html"
    keys = open_keys(settings)
    key, secret = keys.create("soon-revoked", [parse_grant("read:*")])

    wrong = await _login(api, "not-a-key")
    assert wrong.status_code == 401 and "That key is not valid (unknown or revoked)." in wrong.text
    assert "set-cookie" not in wrong.headers
    for blank in ("   ", "k" * 5000):
        empty = await _login(api, blank)
        assert empty.status_code == 400 and "Enter an API key." in empty.text
    as_json = await api.client.post("/ui/login", json={"key": _secret(api.admin)})
    assert as_json.status_code == 400 and "set-cookie" not in as_json.headers

    assert (await api.client.get("/ui", cookies={COOKIE: secret})).status_code == 200
    assert (await api.client.get(report, cookies={COOKIE: secret})).status_code == 200
    assert keys.revoke(key.id)
    for cookie, path in ((secret, "/ui"), ("forged", "/ui"), (secret, report)):
        page = await api.client.get(path, cookies={COOKIE: cookie})
        assert page.status_code == 401 and page.headers["content-type"].startswith("text/html"), page.text
        assert "the API key is not valid (unknown or revoked): log in again with a valid key." in page.text
        assert 'action="/ui/login"' in page.text
        assert (
            page.headers["set-cookie"].startswith(f'{COOKIE}=""; ')
            and "Max-Age=0" in page.headers["set-cookie"]
        )


async def test_logout_clears_the_cookie_and_other_origins_cannot_post_the_forms(api: ApiHarness) -> None:
    out = await api.client.post("/ui/logout", headers={"origin": "http://testserver"})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert out.headers["set-cookie"].startswith(f'{COOKIE}=""; ') and "Max-Age=0" in out.headers["set-cookie"]

    forged = await _login(api, _secret(api.admin), origin="http://evil.example")
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    assert (await api.client.post("/ui/logout", headers={"origin": "null"})).status_code == 403


async def test_the_pages_are_not_in_the_openapi_document(api: ApiHarness) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]


async def test_the_local_token_logs_in_as_a_key_that_sees_every_dataset(
    runtime: Runtime, settings: Settings
) -> None:
    token = uuid.uuid4().hex * 2
    app = create_app(settings, runtime=runtime, local_token=token)  # as `cognition serve` builds it
    dataset, other, _ = _planted(runtime)

    async with app.router.lifespan_context(app):  # entered and left in this one task
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            logged = await client.post("/ui/login", data={"key": token})
            page = await client.get("/ui", cookies={COOKIE: token})

    assert logged.status_code == 303 and logged.headers["set-cookie"].startswith(f"{COOKIE}={token};")
    assert page.status_code == 200 and "key <code>local</code>" in page.text
    assert f"<strong>{dataset}</strong>" in page.text and f"<strong>{other}</strong>" in page.text
