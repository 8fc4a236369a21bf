"""The ``cognition`` command: a thin shell over ``ingest`` and the core."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
from collections.abc import Callable, Coroutine
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import audit, budget, catalog, governor, repair, serve
from cli.common import fail as _fail
from cli.common import from_setting, require_datasets, stop_if_provider_waits
from cli.common import settings as _settings
from cli.common import with_runtime as _with_runtime
from cli.keys import app as keys_app
from cli.mcp import mcp_command
from cli.progress import RichProgress
from cognition import logs
from cognition.errors import CognitionError, DatabaseUnavailable
from cognition.settings import SearchSettings, Settings, get_settings

if TYPE_CHECKING:
    from cognition.ledger import Caps, DocumentRecord
    from cognition.runtime import Runtime
    from cognition.search import Hit
    from ingest.outcomes import ImportSummary
    from workers.client import QueuedImport

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Knowledge-graph ingestion and search.",
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every subcommand
)

app.add_typer(keys_app, name="keys")
app.add_typer(budget.app, name="budget")
app.command("estimate")(budget.estimate_command)
app.command("mcp")(mcp_command)

_DATASET_OPT = typer.Option("--dataset", "-d", help="Dataset name (repeat to search several).")
_TOP_K = SearchSettings.model_fields["top_k"].default


def _version(shown: bool) -> None:
    if shown:
        try:
            typer.echo(f"cognition {version('cognition')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("cognition (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit"),
    ] = False,
) -> None:
    """Knowledge-graph ingestion and search."""
    with contextlib.suppress(CognitionError):  # a bad setting: the command names it
        logs.configure(get_settings())


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="PDF/Markdown files, folders, or one manifest .toml")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Target dataset")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password for encrypted PDFs (shown by `ps`: prefer --password-prompt or "
            "COGNITION_PDF_PASSWORD)"
        ),
    ] = None,
    password_prompt: Annotated[
        bool,
        typer.Option(
            "--password-prompt", help="Ask for the PDFs' password (hidden), or read it from stdin if piped"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue", help="Enqueue for the workers, then follow progress (Ctrl-C stops following)"
        ),
    ] = False,
    follow: Annotated[bool, typer.Option(help="With --queue: follow until every document is done")] = True,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=0, help=budget.MAX_TOKENS_HELP)
    ] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", min=0.0, help=budget.MAX_COST_HELP)] = None,
) -> None:
    """Import files into a dataset: new files are added, known ones skipped, changed ones replaced.
    At a cap (--max-tokens, --max-cost, or the dataset's) it stops cleanly and exits 3."""
    from cognition.ledger import Caps
    from ingest.service import run_import

    caps = Caps(max_tokens, max_cost)
    if queue:
        _queued_import(paths, dataset, password or password_prompt, as_json, follow, caps)
        return

    settings = _settings()
    secret = _pdf_password(password, password_prompt, settings)
    data = _run_with_progress(lambda r, p: run_import(r, paths, dataset, secret, p, caps), as_json, settings)
    if as_json:
        typer.echo(json.dumps(data))
    else:
        _print_summary(data)
    if data.get("budget"):
        raise typer.Exit(code=3)
    _exit_if_nothing_done(data)


@app.command("crawl")
def crawl_command(
    urls: Annotated[list[str], typer.Argument(help="Seed URLs (http or https)")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Target dataset")],
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Pages fetched at most")] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="Link hops from a seed")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="URL glob to follow")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="URL glob not to follow")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
    queue: Annotated[bool, typer.Option("--queue", help="Run the crawl on a worker, then follow it")] = False,
    follow: Annotated[bool, typer.Option(help="With --queue: follow until the crawl is done")] = True,
    browser: Annotated[
        bool, typer.Option("--browser", help="Render pages in Chromium (for pages that need JavaScript)")
    ] = False,
) -> None:
    """Crawl a site into a dataset: new pages are added, unchanged ones skipped, changed ones replaced."""
    from ingest.service import run_crawl
    from ingest.web.spec import CrawlSpec

    spec = CrawlSpec(tuple(urls), tuple(include or ()), tuple(exclude or ()), max_depth, max_pages)
    settings = _settings()
    if browser:
        if queue:  # a worker crawls with its own settings
            _fail(CognitionError("--browser with --queue: set COGNITION_CRAWL__BROWSER=true on the workers"))
        settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(update={"browser": True})})
    if queue:
        from workers.client import submit_crawl

        _submit_and_follow(lambda: submit_crawl(settings, spec, dataset), as_json, follow)
        return
    data = _run_with_progress(lambda r, p: run_crawl(r, spec, dataset, p), as_json, settings)
    if as_json:
        typer.echo(json.dumps(data))
    else:
        _print_summary(data)
        for skipped in data["skipped_reasons"]:  # type: ignore[attr-defined]
            typer.echo(f"  {skipped['reason']}: {skipped['path']}")
    _exit_if_nothing_done(data)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for")],
    dataset: Annotated[list[str], _DATASET_OPT],
    mode: Annotated[str, typer.Option(help="vector | graph | hybrid", show_default=True)] = "hybrid",
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k", "-k", help=f"Number of hits {from_setting(_TOP_K, 'search.top_k')}", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Search in this process even when a server runs")
    ] = False,
) -> None:
    """Search one or more datasets (through `cognition serve` when it runs, else here)."""
    from cli.search import answer

    settings = _settings()
    k = settings.search.top_k if top_k is None else top_k
    require_datasets(settings, dataset)
    try:
        reply = answer(settings, query, dataset, mode, k, local)
    except CognitionError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(reply.body))
        return
    hits = reply.hits
    if not hits:
        typer.echo(reply.message)
    for rank, hit in enumerate(hits, 1):
        cited = " — ".join(part for part in (hit.document_title, " › ".join(hit.section_path)) if part)
        typer.echo(f"{rank}. [{hit.dataset}] {cited} — {_citation(hit)}  score {hit.score:.3f}")
        if hit.entities:
            typer.echo(f"   entities: {', '.join(hit.entities[:8])}")
        typer.echo(f"   {hit.text[:300]}")


def _citation(hit: Hit) -> str:
    """Where a person finds the hit: a web page's URL; a book's printed page number, with
    the PDF's page when they differ ("p. 57, PDF page 81")."""
    if hit.source.startswith(("http://", "https://")):
        return hit.source
    many = hit.page_start != hit.page_end
    if hit.page_labels is None:
        return f"{'pp.' if many else 'p.'} {hit.pages}"
    return f"{'pp.' if many else 'p.'} {hit.page_labels}, PDF {'pages' if many else 'page'} {hit.pages}"


@app.command("datasets")
def datasets_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List datasets with their document states."""
    from cognition.ledger import open_ledger
    from ingest.catalog import dataset_overview

    overview = dataset_overview(open_ledger(_settings()))
    if as_json:
        typer.echo(json.dumps(overview))
        return
    for name, states in overview.items():
        typer.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(states.items())))


@app.command("worker")
def worker_command(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
) -> None:
    """Run one ingestion worker (Arq on Redis, COGNITION_QUEUE__REDIS_URL) until stopped."""
    from workers.run import run_worker

    try:
        run_worker(_settings(), burst=burst)
    except CognitionError as exc:
        _fail(exc)


app.command("documents")(catalog.documents_command)
app.command("describe")(catalog.describe_command)
app.command("delete-document")(catalog.delete_document_command)
app.command("delete-dataset")(catalog.delete_dataset_command)
app.command("serve")(serve.serve_command)
app.command("audit")(audit.audit_command)
app.command("repair")(repair.repair_command)
app.command("governor")(governor.governor_command)


def _run_with_progress(
    run: Callable[[Runtime, RichProgress | None], Coroutine[Any, Any, ImportSummary]],
    as_json: bool,
    settings: Settings | None = None,
) -> dict[str, object]:
    """Run an in-process import with a progress bar on a terminal; its JSON summary."""
    progress = None if as_json or not sys.stderr.isatty() else RichProgress()
    try:
        summary = _with_runtime(lambda runtime: run(runtime, progress), settings)
    except CognitionError as exc:
        stop_if_provider_waits(exc)
        _fail(exc)
    finally:
        if progress is not None:
            progress.close()
    return summary.to_json()


def _pdf_password(given: str | None, prompt: bool, settings: Settings) -> str | None:
    """The password for encrypted PDFs: ``--password``, else asked (``--password-prompt``:
    hidden on a terminal, the first line of stdin when piped), else COGNITION_PDF_PASSWORD."""
    if given is not None and prompt:
        _fail(CognitionError("give --password or --password-prompt, not both"))
    if given is not None:
        return given
    if prompt:
        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\r\n")
        return str(typer.prompt("PDF password", hide_input=True, err=True))
    return settings.pdf_password.get_secret_value() if settings.pdf_password else None


def _queued_import(
    paths: list[Path],
    dataset: str | None,
    password: str | bool | None,
    as_json: bool,
    follow: bool,
    caps: Caps,
) -> None:
    from workers.client import submit_paths

    if password:
        _fail(CognitionError("a PDF password cannot go through the queue (it would be stored in Redis)"))
    settings = _settings()
    _submit_and_follow(lambda: submit_paths(settings, paths, dataset, caps), as_json, follow)


def _submit_and_follow(
    submit: Callable[[], Coroutine[Any, Any, QueuedImport]], as_json: bool, follow: bool
) -> None:
    """Submit to the queue, print each answer, then (unless told not to) follow until done."""
    from workers.client import follow as follow_queue

    settings = _settings()
    try:
        queued = asyncio.run(submit())
    except CognitionError as exc:
        _fail(exc)
    except (OSError, ConnectionError) as exc:
        _fail(CognitionError(f"the queue is not reachable: {exc}"))
    if not as_json:
        for item in queued.submissions:
            typer.echo(" ".join(f"{k}={v}" for k, v in item.to_json().items() if k != "dataset"))
    if follow:

        def show(rows: dict[str, DocumentRecord]) -> None:
            if not as_json:
                done = sum(r.state in ("stored", "failed", "needs_ocr") for r in rows.values())
                typer.echo(f"{done}/{len(queued.followed())} documents done", err=True)

        try:
            asyncio.run(follow_queue(settings, queued, show))
        except CognitionError as exc:  # Redis went away while following
            _fail(exc)
        except KeyboardInterrupt:
            typer.echo("stopped following; the workers go on (see `cognition datasets`)", err=True)
    data = queued.to_json()
    typer.echo(json.dumps(data) if as_json else json.dumps(data, indent=2))
    if _queued_nothing_done(queued):
        raise typer.Exit(code=1)


def _print_summary(data: dict[str, object]) -> None:
    typer.echo(
        f"dataset {data['dataset']}: added {data['added']}, skipped {data['skipped']}, "
        f"replaced {data['replaced']}, pages {data['pages']}, chunks {data['chunks']}, "
        f"{data['seconds']} s"
    )
    for failed in data["failed"]:  # type: ignore[attr-defined]
        typer.echo(f"  failed: {failed['path']}: {failed['reason']}")
    for path in data["needs_ocr"]:  # type: ignore[attr-defined]
        typer.echo(f"  needs OCR: {path}")
    spend = data.get("spend")
    if isinstance(spend, dict) and spend["calls"]:
        typer.echo(
            f"  spent: {spend['calls']} paid calls, {spend['input_tokens']:,} input + "
            f"{spend['output_tokens']:,} output tokens, ${spend['cost']:.4f}"
        )
    stopped = data.get("budget")
    if isinstance(stopped, dict):
        typer.echo(f"stopped: {stopped['reason']} ({len(stopped['left'])} documents left to import)")


def _exit_if_nothing_done(data: dict[str, object]) -> None:
    """Exit 1 when nothing was added, replaced or skipped and something failed (every file
    failed, a path is missing, a crawl was refused), so a script notices; a partial import
    exits 0 and lists its failures."""
    if data["failed"] and not any(data[key] for key in ("added", "replaced", "skipped")):
        raise typer.Exit(code=1)


def _queued_nothing_done(queued: QueuedImport) -> bool:
    """Nothing is stored, known already or on its way, and something was rejected or failed."""
    from ingest.jobs import Conflict, Rejected

    ended = [r.state for r in queued.final.values()]
    good = (
        len(queued.on_their_way())
        - sum(state in ("failed", "needs_ocr") for state in ended)
        + sum(isinstance(s, Conflict) and s.reason == "exists" for s in queued.submissions)
    )
    failed = "failed" in ended or any(isinstance(s, Rejected) for s in queued.submissions)
    return failed and good == 0


def main() -> None:
    try:
        app()
    except DatabaseUnavailable as exc:  # any command that reads the ledger, at any point
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    finally:
        # Nothing the command made is needed after it: spare the interpreter's collections at
        # exit, which walk every object cognee and the stores created (2 s after an import).
        gc.freeze()


if __name__ == "__main__":
    main()
