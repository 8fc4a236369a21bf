"""A self-contained HTML report of a dataset's stored audits: the status of every check,
its latest finding, trends as inline SVG sparklines, the degree and component-size
histograms, per-document coverage worst first, the worst offenders linked to their
documents. No script, no CDN, no font or image fetched: the page is one file a person
can open from a mail or a disk at 3 AM.

Every value from the stores (dataset, entity and document names, reasons) is untrusted
text: it is escaped with :func:`html.escape`, and put in a URL only percent-encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from cognition.ledger.audits import AuditRecord

COLOURS = {"ok": "#1a7f37", "warn": "#b35900", "critical": "#c62828"}
# Checks whose offenders are document ids: they link to the API's document route.
DOCUMENT_CHECKS = frozenset(
    {
        "documents_without_chunks",
        "ledger_not_in_store",
        "store_not_in_ledger",
        "failed_documents",
        "stuck_documents",
        "stale_pages",
        "coverage",
    }
)
_OFFENDERS = 20  # listed per check
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1,h2,h3{font-weight:600}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
.status{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;color:#fff;font-weight:600}
.ok{background:#1a7f37}.warn{background:#b35900}.critical{background:#c62828}
.muted{color:#656d76}code{font-size:.9em}svg{vertical-align:middle}li{margin:.15rem 0}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _badge(status: str) -> str:
    known = status if status in COLOURS else "critical"
    return f'<span class="status {known}">{_e(status)}</span>'


def document_link(dataset: str, doc_id: str) -> str:
    """The API's relative route of a document, percent-encoded and escaped for an attribute."""
    return _e(f"/v1/datasets/{quote(dataset, safe='')}/documents/{quote(doc_id, safe='')}")


def sparkline(values: Sequence[float], width: int = 120, height: int = 24) -> str:
    """A polyline of ``values`` (oldest first) scaled into a small box; one value is a dot."""
    if not values:
        return '<span class="muted">no history</span>'
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = [(i * step, height - 2 - (v - low) / span * (height - 4)) for i, v in enumerate(values)]
    last_x, last_y = points[-1]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="trend over '
        f'{len(values)} audits"><polyline fill="none" stroke="#0969da" stroke-width="1.5" '
        f'points="{line}"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="#0969da"/></svg>'
    )


def bar_chart(
    buckets: dict[str, Any], label: str = "entity degree histogram", width: int = 480, height: int = 160
) -> str:
    """A histogram: one bar per bucket, its count above it, its label below."""
    items = [(str(k), int(v)) for k, v in buckets.items()]
    if not items:
        return '<p class="muted">nothing to draw</p>'
    top = max(v for _, v in items) or 1
    slot = width / len(items)
    bars = []
    for i, (bucket, count) in enumerate(items):
        h = count / top * (height - 40)
        x, y = i * slot + 4, height - 20 - h
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 8:.1f}" height="{h:.1f}" fill="#0969da"/>'
            f'<text x="{x + (slot - 8) / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{x + (slot - 8) / 2:.1f}" y="{height - 6}" font-size="10" '
            f'text-anchor="middle">{_e(bucket)}</text>'
        )
    return f'<svg width="{width}" height="{height}" role="img" aria-label="{_e(label)}">{"".join(bars)}</svg>'


def _trend(history: Sequence[AuditRecord], name: str) -> list[float]:
    """A check's offender count (or, for counts, the number of nodes) per audit, oldest first."""
    values = []
    for record in reversed(history):
        check = _check(record, name)
        if check is None:
            continue
        if name == "counts":
            values.append(float(sum(check.get("values", {}).get("nodes", {}).values())))
        else:
            values.append(float(check.get("total", 0)))
    return values


def _check(record: AuditRecord, name: str) -> dict[str, Any] | None:
    return next((c for c in record.checks if c.get("name") == name), None)


def _checks_table(history: Sequence[AuditRecord]) -> str:
    rows = []
    for check in history[0].checks:
        name = str(check.get("name", ""))
        rows.append(
            f"<tr><td><code>{_e(name)}</code></td><td>{_badge(str(check.get('status', '')))}</td>"
            f"<td>{_e(check.get('summary', ''))}</td><td>{_e(check.get('total', 0))}</td>"
            f"<td>{sparkline(_trend(history, name))}</td></tr>"
        )
    return (
        "<table><thead><tr><th>check</th><th>status</th><th>finding</th><th>offenders</th>"
        f"<th>trend</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _reason(check: dict[str, Any], ident: str) -> str:
    values = check.get("values", {})
    found = values.get("reasons", {}).get(ident) or values.get("states", {}).get(ident)
    return f' <span class="muted">{_e(found)}</span>' if found else ""


def _offenders(dataset: str, latest: AuditRecord) -> str:
    parts = []
    for check in latest.checks:
        named = [str(o) for o in check.get("offenders", [])][:_OFFENDERS]
        if check.get("status") == "ok" or not named:
            continue
        name = str(check.get("name", ""))
        items = []
        for ident in named:
            shown = f"<code>{_e(ident)}</code>"
            if name in DOCUMENT_CHECKS:
                shown = f'<a href="{document_link(dataset, ident)}">{shown}</a>'
            items.append(f"<li>{shown}{_reason(check, ident)}</li>")
        more = int(check.get("total", 0)) - len(named)
        tail = f'<p class="muted">and {more} more</p>' if more > 0 else ""
        parts.append(f"<h3><code>{_e(name)}</code> {_badge(str(check.get('status')))}</h3>")
        parts.append(f"<ul>{''.join(items)}</ul>{tail}")
    return "".join(parts) or '<p class="muted">none: every check is ok</p>'


def share_bar(share: float, width: int = 120, height: int = 12) -> str:
    """A share (0..1) as a filled bar, coloured by how low it is."""
    share = min(max(share, 0.0), 1.0)
    colour = COLOURS["ok"] if share >= 0.8 else COLOURS["warn"] if share >= 0.5 else COLOURS["critical"]
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="{share:.0%}">'
        f'<rect width="{width}" height="{height}" fill="#eaeef2"/>'
        f'<rect width="{share * width:.1f}" height="{height}" fill="{colour}"/></svg>'
    )


def _coverage(dataset: str, latest: AuditRecord) -> str:
    """Per-document coverage (pages with text / pages), worst first, each linked to its
    document; a web page's URL shown as text."""
    check = _check(latest, "coverage")
    rows = [] if check is None else check.get("values", {}).get("documents", [])
    items = []
    for row in rows:
        if not isinstance(row, list) or len(row) < 6:
            continue
        doc_id, covered, pages, share, source, kind = row[:6]
        title = str(row[6]) if len(row) > 6 and row[6] else ""  # audits stored before titles: none
        url = f' <span class="muted">{_e(source)}</span>' if kind != "pdf" else ""
        name = f"<code>{_e(doc_id)}</code>"
        if title:
            name = f'{_e(title)} <code class="muted">{_e(doc_id)}</code>'
        items.append(
            f'<tr><td><a href="{document_link(dataset, str(doc_id))}">{name}</a>{url}</td>'
            f"<td>{_e(covered)} / {_e(pages)}</td><td>{share_bar(float(share))} {float(share):.0%}</td></tr>"
        )
    if check is None or not items:
        return ""
    more = int(check.get("total", 0)) - len(items)  # documents below the threshold not listed
    return (
        f"<h2>Coverage per document</h2><p>{_e(check.get('summary', ''))}; worst first.</p>"
        "<table><thead><tr><th>document</th><th>pages with text</th><th>share</th></tr></thead>"
        f"<tbody>{''.join(items)}</tbody></table>"
        + (f'<p class="muted">{more} more below the threshold not listed</p>' if more > 0 else "")
    )


def _components(latest: AuditRecord) -> str:
    check = _check(latest, "components")
    if check is None:
        return ""
    values = check.get("values", {})
    return (
        f"<h2>Connected components</h2><p>{_e(check.get('summary', ''))}; "
        f"the largest holds {float(values.get('largest_share', 1.0)):.1%} of the nodes.</p>"
        f"{bar_chart(values.get('buckets', {}), 'component sizes (nodes)')}"
    )


def _shape(latest: AuditRecord) -> str:
    degrees = _check(latest, "degrees")
    if degrees is None:
        return ""
    values = degrees.get("values", {})
    hubs = "".join(
        f"<li><code>{_e(h[1] if len(h) > 1 else h[0])}</code> "
        f'<span class="muted">{_e(h[0])}, degree {_e(h[-1])}</span></li>'
        for h in values.get("hubs", [])
        if isinstance(h, list) and h
    )
    return (
        f"<h2>Entity degrees</h2><p>{_e(degrees.get('summary', ''))}</p>"
        f"{bar_chart(values.get('buckets', {}))}" + (f"<h3>Hubs</h3><ul>{hubs}</ul>" if hubs else "")
    )


def section(dataset: str, history: Sequence[AuditRecord]) -> str:
    """One dataset: its latest audit (``history[0]``) against its past ones (newest first)."""
    if not history:
        return f"<section><h1>{_e(dataset)}</h1><p>No audit yet.</p></section>"
    latest = history[0]
    return (
        f"<section><h1>{_e(dataset)} {_badge(latest.status)}</h1>"
        f'<p class="muted">Audited {_e(_when(latest.started_at))} in '
        f"{latest.finished_at - latest.started_at:.1f} s; trends over {len(history)} audits.</p>"
        f"{_checks_table(history)}<h2>Worst offenders</h2>{_offenders(dataset, latest)}"
        f"{_shape(latest)}{_components(latest)}{_coverage(dataset, latest)}</section>"
    )


def page(reports: Sequence[tuple[str, Sequence[AuditRecord]]]) -> str:
    """The whole document: one section per dataset, its history newest first."""
    title = "Audit: " + ", ".join(name for name, _ in reports)
    body = "<hr>".join(section(name, history) for name, history in reports)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
