"""Audits as text (a terminal), Markdown (a ticket, a wiki), JSON (scripts, the API) and
HTML (a self-contained page with trends, read from the audits stored in the ledger)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from cognition.audit import html
from cognition.audit.checks import worst
from cognition.audit.run import DatasetAudit
from cognition.ledger import Ledger

_SHOWN = 5  # offenders named per check in text and Markdown (JSON has the whole capped list)
FORMATS = ("text", "json", "md", "html")
HISTORY = 60  # past audits a trend in the HTML report spans


def html_report(ledger: Ledger, names: Sequence[str], history: int = HISTORY) -> str:
    """The HTML page of each dataset's stored audits (the latest first), trends included."""
    return html.page([(name, ledger.audits(name, limit=history)) for name in names])


def render(audits: Sequence[DatasetAudit], form: str) -> str:
    if form == "json":
        body = {"status": worst([a.status for a in audits]), "datasets": [a.to_json() for a in audits]}
        return json.dumps(body, indent=2)
    return (markdown if form == "md" else text)(audits)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _more(total: int, shown: int) -> str:
    return f" (+{total - shown} more)" if total > shown else ""


def text(audits: Sequence[DatasetAudit]) -> str:
    lines = []
    for audit in audits:
        lines.append(f"{audit.dataset}: {audit.status.upper()}  ({_when(audit.started_at)})")
        for check in audit.checks:
            lines.append(f"  {check.status:<8} {check.name:<26} {check.summary}")
            named = check.offenders[:_SHOWN]
            if check.status != "ok" and named:
                lines.append(f"           {', '.join(named)}{_more(check.total, len(named))}")
    return "\n".join(lines)


def markdown(audits: Sequence[DatasetAudit]) -> str:
    lines = []
    for audit in audits:
        lines += [f"## {audit.dataset}: {audit.status}", "", f"Audited {_when(audit.started_at)}.", ""]
        lines += ["| check | status | finding | offenders |", "|---|---|---|---|"]
        for check in audit.checks:
            named = ", ".join(f"`{o}`" for o in check.offenders[:_SHOWN]) + _more(
                check.total, min(len(check.offenders), _SHOWN)
            )
            lines.append(f"| {check.name} | {check.status} | {check.summary} | {named} |")
        lines.append("")
    return "\n".join(lines)
