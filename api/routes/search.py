"""Search: vector, graph or hybrid, over the datasets named or every one the key can read."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api import telemetry
from api.auth import Caller
from api.errors import ERROR_RESPONSES, ApiError
from api.models import SearchIn, SearchOut
from api.state import Deps
from ingest.query import SearchFilters, search

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@router.post(
    "/v1/search", response_model=SearchOut, summary="Search; hits cite dataset, title, source, pages"
)
async def search_route(body: SearchIn, caller: Caller, services: Deps) -> Response:
    ledger, settings = services.runtime.ledger, services.settings
    if body.top_k > settings.search.max_top_k:
        raise ApiError(
            422, "InvalidRequest", f"top_k: at most {settings.search.max_top_k}", "ask for fewer hits"
        )
    budget = body.text_budget
    if budget is not None and budget > settings.api.max_text_budget:
        raise ApiError(
            422, "InvalidRequest", f"text_budget: at most {settings.api.max_text_budget}", "ask for less"
        )
    for name in body.datasets:
        caller.require(ledger, name)
    datasets = list(dict.fromkeys(body.datasets)) or caller.readable(ledger)
    if not datasets:
        raise ApiError(
            404,
            "DatasetNotFound",
            "this key can read no dataset",
            "create one, or ask for a key that can read one",
        )
    filters = SearchFilters(
        tuple(body.filters.document_ids), body.filters.source_prefix, body.filters.section
    )
    with telemetry.timed_search(body.mode):
        answer = await search(services.runtime, body.query, datasets, body.mode, body.top_k, filters, budget)
    # The body is built by SearchOut itself, so FastAPI's second validation of it is skipped.
    return Response(SearchOut.of(answer).model_dump_json(), media_type="application/json")
