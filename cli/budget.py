"""``cognition budget`` (a dataset's spending caps and spend) and ``cognition estimate``
(what an import would pay, without calling a model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, require_datasets, settings
from cognition.errors import CognitionError
from cognition.ledger import Caps, open_ledger

app = typer.Typer(no_args_is_help=True, help="A dataset's spending caps on paid models, and its spend.")

MAX_TOKENS_HELP = "Tokens (input and output together) that paid models may use at most"
MAX_COST_HELP = "US dollars that paid models may cost at most (prices: COGNITION_GEMINI__PRICES)"


@app.command("set")
def set_command(
    dataset: Annotated[str, typer.Argument(help="The dataset")],
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=0, help=MAX_TOKENS_HELP)] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", min=0.0, help=MAX_COST_HELP)] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the dataset's caps")] = False,
    create: Annotated[
        bool,
        typer.Option(
            "--create", help="Create the (empty) dataset if it does not exist: a cap before its first import"
        ),
    ] = False,
) -> None:
    """Set (replace) a dataset's caps: every import into it stops before passing them."""
    from cognition.datasets import validate_dataset_name

    given = settings()
    if clear == (max_tokens is not None or max_cost is not None):
        fail("give --max-tokens and/or --max-cost, or --clear")
    if create:
        try:
            open_ledger(given).register_dataset(validate_dataset_name(dataset))
        except CognitionError as exc:
            fail(exc)
    require_datasets(given, [dataset])
    open_ledger(given).set_budget(dataset, Caps(max_tokens, max_cost))
    _show(dataset, as_json=False)


@app.command("show")
def show_command(
    dataset: Annotated[str, typer.Argument(help="The dataset")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """A dataset's caps, what it has spent (by model), and what is left."""
    require_datasets(settings(), [dataset])
    _show(dataset, as_json)


def _show(dataset: str, as_json: bool) -> None:
    from ingest.catalog import dataset_spend

    data = dataset_spend(open_ledger(settings()), dataset)
    if as_json:
        typer.echo(json.dumps(data))
        return
    spend, caps = data["spend"], data["budget"]
    assert isinstance(spend, dict) and isinstance(caps, dict)
    typer.echo(f"dataset {dataset}")
    typer.echo(f"  caps: {_cap(caps['max_tokens'], caps['tokens_left'], False)}, "
               f"{_cap(caps['max_cost'], caps['cost_left'], True)}")  # fmt: skip
    typer.echo(
        f"  spent: {spend['calls']} calls, {spend['input_tokens']:,} input + {spend['output_tokens']:,} "
        f"output tokens, ${spend['cost']:.4f}"
    )
    for model, row in spend["models"].items():
        typer.echo(
            f"    {model}: {row['calls']} calls, {row['input_tokens']:,} in, {row['output_tokens']:,} out,"
            f" ${row['cost']:.4f}"
        )


def _cap(cap: object, left: object, money: bool) -> str:
    if cap is None:
        return "no money cap" if money else "no token cap"
    if money:
        return f"${cap:.4f} (${left:.4f} left)"
    return f"{cap:,} tokens ({left:,} left)"


def estimate_command(
    paths: Annotated[list[Path], typer.Argument(help="PDF/Markdown files, folders, or one manifest .toml")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Target dataset")] = None,
    output: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    count: Annotated[
        str,
        typer.Option(
            "--count",
            help="estimate: 4 characters a token, offline | api: the extraction prompts counted by "
            "Gemini's free countTokens (needs the API key)",
        ),
    ] = "estimate",
) -> None:
    """What importing PATHS would pay (calls, tokens, dollars per model), without calling a
    model: chunks the cache holds and documents already stored are not counted."""
    from ingest.estimate import estimate
    from ingest.targets import resolve_targets

    if output not in ("text", "json"):
        fail(f"--format must be text or json, not {output!r}")
    if count not in ("estimate", "api"):
        fail(f"--count must be estimate or api, not {count!r}")
    given = settings()
    try:
        targets = resolve_targets(paths, dataset)
        secret = given.pdf_password.get_secret_value() if given.pdf_password else None
        found = estimate(given, open_ledger(given), targets, secret, count_api=count == "api")
    except CognitionError as exc:
        fail(exc)
    data = found.to_json()
    if output == "json":
        typer.echo(json.dumps(data))
        return
    _print_estimate(data)


def _print_estimate(data: dict[str, object]) -> None:
    stored = data["already_stored"]
    assert isinstance(stored, list)
    typer.echo(
        f"dataset {data['dataset']}: {data['documents']} documents to import, {data['chunks']} chunks "
        f"({len(stored)} documents already stored, not counted)"
    )
    models = data["models"]
    assert isinstance(models, list)
    if not models:
        typer.echo("  no paid model is configured (embedding and extraction are local): nothing to pay")
    for m in models:
        cost = "no price in COGNITION_GEMINI__PRICES" if m["cost"] is None else f"${m['cost']:.4f}"
        typer.echo(
            f"  {m['model']} ({m['purpose']}): {m['calls']} calls, {m['input_tokens']:,} input + "
            f"{m['output_tokens']:,} output tokens, {cost}; {m['cached_chunks']} chunks from the cache"
        )
    if data["cost"] is not None and models:
        typer.echo(f"  total: {data['calls']} calls, ${data['cost']:.4f}")
    typer.echo(f"  input tokens: {data['input_counting']}")
    if data["output_basis"]:
        typer.echo(f"  output tokens: {data['output_basis']}")
    for failed in data["failed"]:  # type: ignore[attr-defined]
        typer.echo(f"  not readable, not counted: {failed['path']}: {failed['reason']}")
    for seeds in data["not_estimated"]:  # type: ignore[attr-defined]
        typer.echo(f"  crawl not estimated (its pages are not fetched): {seeds}")
