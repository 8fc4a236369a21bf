"""``cognition documents``, ``describe``, ``delete-document``, ``delete-dataset``: what the
API's dataset and document routes do, over the same ``ingest.catalog`` functions. Their
``--json`` output is the API's body."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, get_args
from urllib.parse import quote

import typer

from cli.common import confirm, fail, from_setting, require_datasets, settings, with_runtime
from cli.remote import ask, running_server
from cognition.errors import CognitionError
from cognition.ledger import DocumentRecord
from cognition.ledger.port import State
from cognition.settings import ApiSettings, Settings

STATES = get_args(State)
_PAGE_SIZE = ApiSettings.model_fields["page_size"].default
_YES = typer.Option("--yes", "-y", help="Delete without asking")


def documents_command(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset")],
    state: Annotated[
        str | None, typer.Option(help=f"Only documents in this state: {' | '.join(STATES)}")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help=f"Documents per page {from_setting(_PAGE_SIZE, 'api.page_size')}", show_default=False, min=1
        ),
    ] = None,
    cursor: Annotated[str | None, typer.Option(help="Continue a listing (printed after a full page)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON page")] = False,
) -> None:
    """List a dataset's documents: state, pages, chunks, source, and why failed ones failed."""
    from cognition.ledger import open_ledger
    from ingest.catalog import documents_page

    given = settings()
    require_datasets(given, [dataset])
    if state is not None and state not in STATES:
        fail(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    size = limit or given.api.page_size
    if size > given.api.max_page_size:
        fail(f"--limit: at most {given.api.max_page_size}")
    try:
        page = documents_page(open_ledger(given), dataset, state, cursor, size)
    except CognitionError as exc:
        fail(exc)
    if as_json:
        from api.models import DocumentOut, DocumentPage

        body = DocumentPage(
            documents=[DocumentOut.of(r) for r in page.documents], next_cursor=page.next_cursor
        )
        typer.echo(body.model_dump_json())
        return
    if not page.documents:
        typer.echo(f"no documents{f' in state {state}' if state else ''} in dataset {dataset}")
    for record in page.documents:
        _print_document(record)
    if page.next_cursor:
        typer.echo(f"more: cognition documents -d {dataset} --cursor {page.next_cursor}", err=True)


def describe_command(
    dataset: Annotated[str, typer.Argument(metavar="NAME", help="The dataset")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """Describe a dataset: documents by state, pages, chunks, store counts, model, last import."""
    from ingest.catalog import describe_dataset

    given = settings()
    require_datasets(given, [dataset])
    try:
        summary, stats = with_runtime(lambda runtime: describe_dataset(runtime, dataset), given)
    except CognitionError as exc:
        fail(exc)
    body = {**summary.to_json(), "stats": None if stats is None else stats.__dict__}
    if as_json:
        typer.echo(json.dumps(body))
        return
    typer.echo(f"{summary.name}: {summary.description}" if summary.description else summary.name)
    typer.echo("  documents: " + (", ".join(f"{k}={v}" for k, v in summary.documents.items()) or "none"))
    typer.echo(f"  pending: {summary.pending}, pages: {summary.pages}, chunks: {summary.chunks}")
    typer.echo(f"  last import: {_when(summary.last_import)}")
    typer.echo(f"  embedding: {summary.embedding_model or '-'} ({summary.embedding_dimensions or '-'} dims)")
    if stats is not None:
        typer.echo("  store: " + ", ".join(f"{k}={v}" for k, v in stats.__dict__.items()))


def delete_document_command(
    doc_id: Annotated[str, typer.Argument(metavar="DOC_ID", help="The document's id (see `documents`)")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="The dataset")],
    yes: Annotated[bool, _YES] = False,
) -> None:
    """Delete a document: its chunks, vectors and mentions (entities others mention stay)."""
    from cognition.ledger import open_ledger
    from ingest.catalog import delete_document, get_document

    given = settings()
    require_datasets(given, [dataset])
    try:
        record = get_document(open_ledger(given), dataset, doc_id)
    except CognitionError as exc:
        fail(f"{exc} in dataset {dataset} (see `cognition documents -d {dataset}`)")
    confirm(f"Delete document {record.doc_id} ({record.source}) from dataset {dataset}?", yes)
    try:
        if _by_server(given, f"/v1/datasets/{quote(dataset)}/documents/{quote(doc_id)}") is None:
            with_runtime(lambda runtime: delete_document(runtime, dataset, doc_id), given)
    except CognitionError as exc:
        fail(exc)
    typer.echo(f"deleted document {record.doc_id} ({record.source}) from dataset {dataset}")


def delete_dataset_command(
    dataset: Annotated[str, typer.Argument(metavar="NAME", help="The dataset")],
    yes: Annotated[bool, _YES] = False,
) -> None:
    """Delete a dataset: its graph, vectors, ledger rows and uploaded files."""
    from cognition.ledger import open_ledger
    from ingest.catalog import delete_dataset

    given = settings()
    require_datasets(given, [dataset])
    count = len(open_ledger(given).documents(dataset))
    confirm(f"Delete dataset {dataset} and its {count} document(s): graph, vectors, files?", yes)
    try:
        answered = _by_server(given, f"/v1/datasets/{quote(dataset)}")
        if answered is not None:
            documents = int(answered["documents"])
        else:
            documents = with_runtime(lambda runtime: delete_dataset(runtime, dataset), given)
    except CognitionError as exc:
        fail(exc)
    typer.echo(f"deleted dataset {dataset} ({documents} document(s))")


def _by_server(given: Settings, path: str) -> dict[str, Any] | None:
    """Delete through the server running on this data directory, if one answers: it drops
    what it keeps of the dataset. None: no server, do it here."""
    server = running_server(given)
    return None if server is None else ask(server, "DELETE", path)


def _print_document(record: DocumentRecord) -> None:
    from ingest.catalog import document_state

    title = f"  {record.title!r}" if record.title else ""
    typer.echo(
        f"{record.doc_id}  {document_state(record):<11} pages {record.pages:<4} "
        f"chunks {record.chunks:<5} {record.source}{title}"
    )
    if record.error:
        again = "" if record.permanent else " (importing again may help)"
        typer.echo(f"    reason: {record.error}{again}")


def _when(moment: float | None) -> str:
    return "never" if moment is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))
