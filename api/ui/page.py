"""The operator page and its login page, as HTML strings: server-rendered, no script, no
build step, nothing fetched from anywhere (the style is inline, the progress bars are
``<progress>`` elements). The page reloads itself every ``REFRESH`` seconds with a meta tag.

Every value from the ledger (dataset names and descriptions, titles, sources, reasons) is
untrusted text: escaped with :func:`html.escape`, and put in a URL only percent-encoded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from api.ui.view import DatasetHealth, FailureRow, OperatorView
from cognition.ledger import JobRecord
from ingest.catalog import JobStatus

# The pages hold no script and fetch nothing: say so, so that a string that escaped escaping
# still could not run or load anything.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SAFE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

REFRESH = 15  # seconds between reloads of the operator page
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328;background:#fff;max-width:80rem}
h1,h2{font-weight:600}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
.status{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;color:#fff;font-weight:600}
.ok,.done{background:#1a7f37}.warn,.queued,.running{background:#b35900}
.critical,.failed{background:#c62828}.never{background:#656d76}
.muted{color:#656d76}.error{color:#c62828;font-weight:600}progress{width:12rem}
header{display:flex;justify-content:space-between;align-items:baseline}
form.inline{display:inline}td code{word-break:break-all}
label{display:block;margin:.5rem 0}input[type=password]{width:24rem}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(at: float | None) -> str:
    if not at:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _badge(status: str, css: str | None = None) -> str:
    return f'<span class="status {_e(css or status)}">{_e(status)}</span>'


def _document(title: str) -> str:
    return f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"


def _source(source: str) -> str:
    """A file by its name (the whole path on hover: an upload's is long and says little);
    a URL whole."""
    if not source.startswith("/"):
        return _e(source)
    return f'<span title="{_e(source)}">{_e(source.rsplit("/", 1)[-1])}</span>'


def _job(job: JobRecord) -> str:
    return f'{_source(job.source)}<br><code class="muted">{_e(job.job_id)}</code>'


def report_url(dataset: str) -> str:
    return f"/v1/datasets/{quote(dataset, safe='')}/audits/latest.html"


def login_page(message: str | None = None) -> str:
    """The login form: the key goes in a password field, and is POSTed to ``/ui/login``."""
    problem = f'<p class="error" role="alert">{_e(message)}</p>' if message else ""
    return (
        _document("Cognition: log in")
        + f"<style>{_STYLE}</style></head><body><h1>Cognition operator page</h1>{problem}"
        + '<form method="post" action="/ui/login"><label>API key '
        + '<input type="password" name="key" autocomplete="current-password" required autofocus></label>'
        + '<button type="submit">Log in</button></form>'
        + '<p class="muted">A key made with <code>cognition keys create</code> (the page shows the datasets '
        + "it may read), or the local token of <code>cognition serve</code>. It is kept in a cookie "
        + "this server alone reads, until you log out.</p></body></html>"
    )


def operator_page(view: OperatorView) -> str:
    sections = [
        _datasets(view.datasets),
        _running(view.running),
        _finished(view.finished),
        _failures(view.failures),
    ]
    return (
        _document("Cognition: operator page")
        + f'<meta http-equiv="refresh" content="{REFRESH}"><style>{_STYLE}</style></head><body>'
        + "<header><h1>Cognition operator page</h1><span>"
        + f"key <code>{_e(view.caller)}</code> · {_when(view.at)} · "
        + '<form class="inline" method="post" action="/ui/logout"><button type="submit">Log out</button>'
        + "</form></span></header>"
        + "".join(sections)
        + "</body></html>"
    )


def _table(headings: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _datasets(datasets: list[DatasetHealth]) -> str:
    rows = [_dataset_row(d) for d in datasets]
    headings = ["dataset", "health", "documents", "pages", "chunks", "entities", "report"]
    return "<h2>Datasets</h2>" + _table(headings, rows, "No dataset this key may read.")


def _dataset_row(d: DatasetHealth) -> str:
    description = f'<br><span class="muted">{_e(d.description)}</span>' if d.description else ""
    if d.audit is None:
        health, report = _badge("never audited", "never"), '<span class="muted">no audit yet</span>'
    else:
        health = f'{_badge(d.audit.status)} <span class="muted">{_when(d.audit.finished_at)}</span>'
        report = f'<a href="{_e(report_url(d.name))}">latest report</a>'
    states = ", ".join(f"{_e(state)} {n}" for state, n in d.documents.items()) or "none"
    entities = "-" if d.entities is None else str(d.entities)
    return (
        f"<tr><td><strong>{_e(d.name)}</strong>{description}</td><td>{health}</td><td>{states}</td>"
        f"<td>{d.pages}</td><td>{d.chunks}</td><td>{entities}</td><td>{report}</td></tr>"
    )


def _progress(status: JobStatus) -> str:
    job = status.job
    if job.pages_total > 0:
        bar = f'<progress max="{job.pages_total}" value="{min(job.pages_done, job.pages_total)}"></progress>'
        text = f"{job.pages_done} / {job.pages_total} pages"
    elif job.documents_total > 0:
        done = job.documents_done + job.documents_failed
        bar = f'<progress max="{job.documents_total}" value="{min(done, job.documents_total)}"></progress>'
        text = f"{done} / {job.documents_total} documents"
    else:
        bar, text = "<progress></progress>", "starting" if job.state == "running" else "waiting"
    return f"{bar} {text}"


def _running(jobs: list[JobStatus]) -> str:
    rows = [
        f"<tr><td>{_e(s.job.dataset)}</td><td>{_job(s.job)}</td><td>{_badge(s.job.state)}</td>"
        f"<td>{_progress(s)}</td><td>{_e(_duration(s.eta_seconds))}</td><td>{_when(s.job.created_at)}</td></tr>"
        for s in jobs
    ]
    headings = ["dataset", "source and job", "state", "progress", "ETA", "submitted"]
    return "<h2>Imports in progress</h2>" + _table(headings, rows, "No import is queued or running.")


def _finished(jobs: list[JobStatus]) -> str:
    rows = []
    for s in jobs:
        job = s.job
        took = (job.finished_at - job.started_at) if job.finished_at and job.started_at else None
        rows.append(
            f"<tr><td>{_e(job.dataset)}</td><td>{_job(job)}</td><td>{_badge(job.state)}</td>"
            f"<td>{job.documents_done} stored, {job.documents_failed} failed; {job.pages_done} pages</td>"
            f"<td>{_e(_duration(took))}</td><td>{_when(job.finished_at)}</td></tr>"
        )
    headings = ["dataset", "source and job", "state", "result", "took", "finished"]
    return "<h2>Recent imports</h2>" + _table(
        headings, rows, "No import job has finished yet (imports by the CLI run without one)."
    )


def _failures(failures: list[FailureRow]) -> str:
    rows = [
        f"<tr><td>{_e(f.dataset)}</td><td>{_source(f.what)}"
        + (f'<br><code class="muted">{_e(f.doc_id)}</code>' if f.doc_id else "")
        + f"</td><td>{_badge(f.state, 'failed')}</td><td>{_e(f.reason)}</td><td>{_when(f.at)}</td></tr>"
        for f in failures
    ]
    headings = ["dataset", "document or source", "state", "reason", "when"]
    return "<h2>Recent failures</h2>" + _table(headings, rows, "No failure recorded.")
