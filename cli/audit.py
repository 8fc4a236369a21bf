"""``cognition audit``: audit datasets, store the audits in the ledger, print them; the exit
code says the worst status (0 ok, 1 warn, 2 critical) for cron and CI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, require_datasets, settings, with_runtime
from cognition.audit.report import FORMATS
from cognition.errors import CognitionError

EXIT = {"ok": 0, "warn": 1, "critical": 2}


def audit_command(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="A dataset to audit (repeat; default: all)")
    ] = None,
    form: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS))] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write the report to this file")] = None,
) -> None:
    """Audit datasets: orphans, missing vectors, drift, duplicates...; exit 0 ok, 1 warn, 2 critical."""
    from cognition.audit import audit_datasets, worst
    from cognition.audit.report import html_report, render
    from cognition.ledger import open_ledger

    if form not in FORMATS:
        fail(f"unknown format {form!r}: use one of {', '.join(FORMATS)}")
    given = settings()
    names = list(dict.fromkeys(dataset or open_ledger(given).datasets()))
    if not names:
        fail("there are no datasets to audit")
    require_datasets(given, names)
    try:
        audits = with_runtime(lambda runtime: audit_datasets(runtime, names), given)
    except CognitionError as exc:
        fail(exc)
    # the HTML page reads the stored audits back, for their trends
    report = html_report(open_ledger(given), names) if form == "html" else render(audits, form)
    if out is None:
        typer.echo(report)
    else:
        try:
            out.write_text(report + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        typer.echo(f"audit written to {out}", err=True)
    raise typer.Exit(code=EXIT[worst([a.status for a in audits])])
