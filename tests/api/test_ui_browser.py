"""The HTML audit report and the operator page in Debian's headless Chromium: each renders
to a real PNG (``--screenshot``), and driven over the DevTools protocol (Playwright on the
same system Chromium, no browser of its own) logs no console error and sends no request
that leaves the page's origin or fails. The operator page is served by the real app under
uvicorn on loopback; a person logs in through its form with a scoped key and sees the
dataset, its health, its finished imports and its failure, and follows the report link."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bench.api_server import served_api
from bench.redis_server import free_port
from tests.helpers import CliRunner, chromium_env, new_dataset_name, subprocess_env

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BOUND = 300.0  # seconds a job may take to finish here
BROKEN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n<script>alert(1)</script>\n"


def _chromium() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.skip("no chromium on this machine (scripts/system-deps.sh installs it)")
    return found


def _assert_png(path: Path) -> None:
    """A real PNG: its signature, an IHDR chunk with a nonzero size, more than a header."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0 and len(data) > 1000, (width, height, len(data))


def _screenshot(url: str, out: Path) -> None:
    """The issue's command line: ``chromium --headless ... --screenshot``."""
    done = subprocess.run(
        [_chromium(), "--headless", *FLAGS, f"--screenshot={out}", "--window-size=1280,1400", url],
        env=chromium_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_png(out)


@dataclass
class Watched:
    """What a page did: every request, and every error it showed or met."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.errors.append(f"failed {r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def assert_clean(self, origin: str) -> None:
        assert self.requests, "the page made no request at all"
        away = [url for url in self.requests if _origin(url) != origin]
        assert not away, away
        assert not self.errors, self.errors


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _browser(playwright: Any) -> Any:
    return await playwright.chromium.launch(
        executable_path=_chromium(), headless=True, args=FLAGS, env=chromium_env()
    )


# --------------------------------------------------------------------------- the served app


@dataclass(frozen=True)
class Served:
    base: str
    dataset: str
    hidden: str
    reader: str  # a key that may read ``dataset`` only
    report: Path  # the dataset's HTML audit report, as `cognition audit --format html` wrote it
    jobs: dict[str, dict[str, Any]]  # "good" and "broken": each upload's finished job


def _key(run_cli: CliRunner, data_dir: Path, grant: str) -> str:
    made = run_cli("keys", "create", "ui", "--grant", grant, data_dir=data_dir)
    assert made.returncode == 0, made.stderr[-2000:]
    return made.stdout.strip().splitlines()[-1]


def _upload(base: str, dataset: str, name: str, content: bytes, admin: dict[str, str]) -> dict[str, Any]:
    """Upload a PDF and wait (bounded) for its job to end."""
    sent = httpx.post(
        f"{base}/v1/datasets/{dataset}/documents",
        files={"file": (name, content, "application/pdf")},
        headers=admin,
        timeout=60,
    )
    assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(f"{base}/v1/jobs/{sent.json()['job_id']}", headers=admin).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job} did not end")


@pytest.fixture(scope="module")
def served(
    run_cli: CliRunner, excerpts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A data directory with one excerpt imported by the CLI and audited (the HTML report
    written), then the API served on loopback, where a second excerpt and a broken PDF are
    uploaded (a finished job, a failed document); and a dataset the reader may not see."""
    folder = tmp_path_factory.mktemp("ui-browser")
    data_dir, report = folder / "data", folder / "report.html"
    dataset, hidden = new_dataset_name("ops-books"), new_dataset_name("ops-hidden")
    imported = run_cli("import", str(excerpts["git_objects"]), "-d", dataset, data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr[-2000:]
    audited = run_cli("audit", "-d", dataset, "--format", "html", "--out", str(report), data_dir=data_dir)
    assert audited.returncode in (0, 1, 2) and report.is_file(), audited.stderr[-2000:]
    admin = {"Authorization": f"Bearer {_key(run_cli, data_dir, 'admin:*')}"}
    reader = _key(run_cli, data_dir, f"read:{dataset}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with served_api(data_dir, port, subprocess_env(data_dir), folder / "server.log"):
        made = httpx.post(f"{base}/v1/datasets", json={"name": hidden}, headers=admin)
        assert made.status_code == 201, made.text
        jobs = {
            "good": _upload(base, dataset, "bash.pdf", excerpts["bash_expansion"].read_bytes(), admin),
            "broken": _upload(base, dataset, "broken.pdf", BROKEN, admin),
        }
        yield Served(base, dataset, hidden, reader, report, jobs)


def test_the_audit_report_file_renders_to_a_png(served: Served, tmp_path: Path) -> None:
    _screenshot(served.report.as_uri(), tmp_path / "report.png")


async def test_the_audit_report_file_loads_with_no_error_and_no_request_away(served: Served) -> None:
    from playwright.async_api import async_playwright

    watched = Watched()
    async with async_playwright() as playwright:
        browser = await _browser(playwright)
        page = await browser.new_page()
        watched.attach(page)
        await page.goto(served.report.as_uri(), wait_until="load")
        text = await page.inner_text("body")
        await browser.close()

    watched.assert_clean("file://")
    assert served.dataset in text and "orphan_entities" in text


def test_the_login_page_served_on_loopback_renders_to_a_png(served: Served, tmp_path: Path) -> None:
    _screenshot(f"{served.base}/ui", tmp_path / "login.png")  # no cookie: the login page


async def test_a_person_logs_in_and_sees_health_imports_failures_and_the_report(
    served: Served, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    good, broken = served.jobs["good"], served.jobs["broken"]
    assert good["state"] == "done" and broken["state"] == "failed", served.jobs
    watched, shot = Watched(), tmp_path / "operator.png"
    async with async_playwright() as playwright:
        browser = await _browser(playwright)
        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        watched.attach(page)
        await page.goto(f"{served.base}/ui", wait_until="load")
        assert page.url == f"{served.base}/ui/login"
        await page.fill('input[name="key"]', served.reader)
        async with page.expect_navigation(wait_until="load"):
            await page.click('button[type="submit"]')
        assert page.url == f"{served.base}/ui"
        operator = await page.inner_text("body")
        await page.screenshot(path=str(shot), full_page=True)
        async with page.expect_navigation(wait_until="load"):
            await page.click("text=latest report")
        report = await page.inner_text("body")
        cookies = await page.context.cookies()
        await browser.close()

    watched.assert_clean(served.base)
    _assert_png(shot)
    assert served.dataset in operator and served.hidden not in operator
    row = next(line for line in operator.splitlines() if line.startswith(served.dataset))
    assert any(status in row for status in ("ok", "warn", "critical")), row  # the latest audit's status
    assert "never audited" not in row and "latest report" in row
    assert good["job_id"] in operator and broken["job_id"] in operator  # recent imports
    failures = operator.split("Recent failures")[1]
    assert "failed" in failures and "not a readable PDF" in failures  # the broken upload, with its reason
    assert served.dataset in report and "orphan_entities" in report
    [cookie] = cookies
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
