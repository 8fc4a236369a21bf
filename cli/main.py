"""The ``cognition`` command: a thin shell over ``ingest`` and the core."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.progress import RichProgress
from cognition.errors import CognitionError
from cognition.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Knowledge-graph ingestion and search.")

_DATASET_OPT = typer.Option("--dataset", "-d", help="Dataset name (repeat to search several).")


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="PDF/Markdown files, folders, or one manifest .toml")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Target dataset")] = None,
    password: Annotated[str | None, typer.Option(help="Password for encrypted PDFs")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
) -> None:
    """Import files into a dataset: new files are added, known ones skipped, changed ones replaced."""
    from ingest.service import run_import

    progress = None if as_json or not sys.stderr.isatty() else RichProgress()
    try:
        summary = asyncio.run(run_import(get_settings(), paths, dataset, password, progress))
    except CognitionError as exc:
        _fail(exc)
    finally:
        if progress is not None:
            progress.close()
    data = summary.to_json()
    if as_json:
        typer.echo(json.dumps(data))
    else:
        _print_summary(data)


@app.command("crawl")
def crawl_command(
    urls: Annotated[list[str], typer.Argument(help="Seed URLs (http or https)")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Target dataset")],
    max_pages: Annotated[int | None, typer.Option("--max-pages", help="Pages fetched at most")] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="Link hops from a seed")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="URL glob to follow")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="URL glob not to follow")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
) -> None:
    """Crawl a site into a dataset: new pages are added, unchanged ones skipped, changed ones replaced."""
    from ingest.service import run_crawl
    from ingest.web.spec import CrawlSpec

    spec = CrawlSpec(tuple(urls), tuple(include or ()), tuple(exclude or ()), max_depth, max_pages)
    progress = None if as_json or not sys.stderr.isatty() else RichProgress()
    try:
        summary = asyncio.run(run_crawl(get_settings(), spec, dataset, progress))
    except CognitionError as exc:
        _fail(exc)
    finally:
        if progress is not None:
            progress.close()
    data = summary.to_json()
    if as_json:
        typer.echo(json.dumps(data))
        return
    _print_summary(data)
    for skipped in data["skipped_reasons"]:  # type: ignore[attr-defined]
        typer.echo(f"  {skipped['reason']}: {skipped['path']}")


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for")],
    dataset: Annotated[list[str], _DATASET_OPT],
    mode: Annotated[str, typer.Option(help="vector | graph | hybrid")] = "hybrid",
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Number of hits")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Search one or more datasets."""
    from ingest.service import run_search

    try:
        hits = asyncio.run(run_search(get_settings(), query, dataset, mode, top_k))
    except CognitionError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps({"query": query, "mode": mode, "hits": [h.to_json() for h in hits]}))
        return
    for rank, hit in enumerate(hits, 1):
        where = " › ".join(hit.section_path) or "-"
        typer.echo(
            f"{rank}. [{hit.dataset}] {hit.document_title} — {where} (p. {hit.pages}) score {hit.score:.3f}"
        )
        if hit.entities:
            typer.echo(f"   entities: {', '.join(hit.entities[:8])}")
        typer.echo(f"   {hit.text[:300]}")


@app.command("datasets")
def datasets_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List datasets with their document states."""
    from ingest.service import dataset_overview

    overview = dataset_overview(get_settings())
    if as_json:
        typer.echo(json.dumps(overview))
        return
    for name, states in overview.items():
        typer.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(states.items())))


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


def _fail(exc: CognitionError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
