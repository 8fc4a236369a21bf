"""The HTML audit report: self-contained (no script, no external reference), every check's
name and status shown, trends drawn from the stored audits, untrusted text escaped."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from cognition.audit import audit_datasets
from cognition.audit.html import page
from cognition.audit.report import html_report
from cognition.ledger import DocumentRecord
from cognition.ledger.audits import AuditRecord
from cognition.runtime import Runtime
from tests.helpers import CliRunner, chromium_env, new_dataset_name
from tests.integration.test_audit import _imported

EVIL = "<script>alert(1)</script>"


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html, flags=re.IGNORECASE)


def _assert_self_contained(html: str) -> None:
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "@import" not in html and "url(" not in html
    assert all(ref.startswith("/v1/datasets/") for ref in _references(html)), _references(html)


def test_untrusted_names_are_escaped_and_trends_drawn() -> None:
    checks = [
        {
            "name": "degrees",
            "status": "ok",
            "summary": "mean 2",
            "total": 0,
            "offenders": [],
            "values": {"buckets": {"0": 1, "1": 4, "2-3": 2}, "hubs": [["e1", EVIL, 9]]},
        },
        {
            "name": "failed_documents",
            "status": "warn",
            "summary": "1 failed",
            "total": 1,
            "offenders": ['d"1'],
            "values": {"reasons": {'d"1': f"/x.pdf: {EVIL}"}},
        },
    ]
    history = [AuditRecord("lib", 10.0 - i, 11.0 - i, "warn", checks) for i in range(3)]

    html = page([("lib", history)])

    _assert_self_contained(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/v1/datasets/lib/documents/d%221"' in html
    assert html.count("<polyline") == 2 and "trend over 3 audits" in html
    assert "entity degree histogram" in html and ">2-3</text>" in html


def test_components_coverage_and_stale_pages_are_drawn_and_linked() -> None:
    web = f"https://example.org/a?b=1&c={EVIL}"
    checks = [
        {
            "name": "components",
            "status": "warn",
            "summary": "3 connected components, the largest holds 40.0% of the entities",
            "total": 2,
            "offenders": ["e1", "e2"],
            "values": {"count": 3, "buckets": {"1": 2, "64-127": 1}, "largest_share": 0.97},
        },
        {
            "name": "coverage",
            "status": "critical",
            "summary": "2 documents with text on less than 80% of their pages",
            "total": 3,
            "offenders": ["low/1", "web 2"],
            "values": {
                "documents": [
                    ["low/1", 1, 10, 0.1, "/books/low.pdf", "pdf", f"Low {EVIL}"],
                    ["web 2", 0, 1, 0.0, web, "web"],
                ],
                "reasons": {"low/1": "1/10 pages with text (10%)"},
            },
        },
        {
            "name": "stale_pages",
            "status": "warn",
            "summary": "1 crawled pages fetched more than 30 days ago",
            "total": 1,
            "offenders": ["web 2"],
            "values": {"reasons": {"web 2": f"{web} fetched 61.0 days ago"}},
        },
    ]

    html = page([("lib", [AuditRecord("lib", 1.0, 2.0, "critical", checks)])])

    refs = _references(html)
    assert "<script" not in html.lower()
    assert all(r.startswith("/v1/datasets/lib/documents/") for r in refs), refs
    assert "/v1/datasets/lib/documents/low%2F1" in refs and "/v1/datasets/lib/documents/web%202" in refs
    assert 'aria-label="component sizes (nodes)"' in html and ">64-127</text>" in html
    assert html.index("low%2F1") < html.index("web%202")  # worst first, as stored
    assert 'aria-label="10%"' in html and "1 / 10" in html and "1 more below the threshold" in html
    assert "https://example.org/a?b=1&amp;c=&lt;script&gt;" in html  # the URL as text, escaped
    assert "/books/low.pdf" not in html  # a PDF's path on the server is not shown
    assert "Low &lt;script&gt;alert(1)&lt;/script&gt; <code" in html  # its title, escaped
    assert "web 2</code></a>" in html  # no title (an audit stored before titles): the id
    assert "fetched 61.0 days ago" in html


async def test_report_of_real_audits_shows_every_check(runtime: Runtime, excerpts: dict[str, Path]) -> None:
    dataset = await _imported(runtime, excerpts["git_objects"], "audit-html")
    await audit_datasets(runtime, [dataset])
    bad = str(uuid.uuid4())
    runtime.ledger.upsert(DocumentRecord(dataset, bad, "/evil.pdf", f"h-{bad}", "pdf", "failed", error=EVIL))
    [latest] = await audit_datasets(runtime, [dataset])

    html = html_report(runtime.ledger, [dataset])

    _assert_self_contained(html)
    for check in latest.checks:
        assert f"<code>{check.name}</code>" in html, check.name
        assert f'<span class="status {check.status}">{check.status}</span>' in html, check.name
    assert f'href="/v1/datasets/{dataset}/documents/{bad}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "trends over 2 audits" in html
    [doc] = [r for r in runtime.ledger.documents(dataset) if r.state == "stored"]
    assert 'aria-label="component sizes (nodes)"' in html and "Coverage per document" in html
    assert f'href="/v1/datasets/{dataset}/documents/{doc.doc_id}"' in html  # its coverage row


def test_cli_writes_the_html_report(run_cli: CliRunner, excerpts: dict[str, Path], tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "report.html"
    dataset = new_dataset_name("html-cli")
    assert run_cli("import", str(excerpts["git_objects"]), "-d", dataset, data_dir=data).returncode == 0

    done = run_cli("audit", "-d", dataset, "--format", "html", "--out", str(out), data_dir=data)

    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    html = out.read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert html.startswith("<!DOCTYPE html>") and "orphan_entities" in html
    _render_in_chromium(out, ["orphan_entities", "ledger_not_in_store", dataset])


def _render_in_chromium(path: Path, expected: list[str]) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("no chromium on this machine")
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
            path.as_uri(),
        ],
        env=chromium_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(name in done.stdout for name in expected), done.stdout[:500]
