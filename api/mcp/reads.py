"""The read-only MCP tools: each checks the caller's scope exactly as its API route does and
calls the same core function, then shapes a bounded answer (see ``api.mcp.results``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from pydantic import Field

from api import telemetry
from api.errors import ApiError
from api.mcp.results import SNIPPET_CHARS, Answer, Cursor, check_budget, cite, cut, dumps, fit, tool_error
from api.services import Services
from cognition import graphquery
from cognition.errors import CognitionError, NotFound
from cognition.search import Hit
from cognition.store.port import EntityInfo, StoredChunk
from ingest import catalog
from ingest.catalog import DatasetSummary
from ingest.query import SearchAnswer, search
from ingest.scope import Scope

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
MENTIONS = 3  # chunks cited with an entity
_UNSHOWN = ("title", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern")

Budget = int | None  # characters of the answer at most (default settings.api.mcp_budget)
Page = str | None  # the next_cursor of the previous answer
Name = Annotated[str, Field(min_length=1, max_length=200)]


@dataclass(frozen=True)
class Access:
    """How a tool reaches the app's services and who is calling (the key of the HTTP
    request, or the scope ``cognition mcp`` was started with)."""

    services: Callable[[], Services]
    scope: Callable[[Context], Scope]

    def of(self, ctx: Context) -> tuple[Services, Scope]:
        return self.services(), self.scope(ctx)


async def guarded(action: Any) -> Answer:
    """Run a tool's body; an expected failure is a tool error in the API's words."""
    try:
        answer: str = await action
    except (CognitionError, ApiError) as exc:
        return tool_error(exc)
    return answer


def read_tools(access: Access) -> list[Tool]:
    return [
        make_tool(tool(access), name, summary, READ_ONLY)
        for name, tool, summary in (
            (
                "search",
                _search,
                "Search datasets; hits cite dataset, title, pages/URL. Full text: get_chunk.",
            ),
            (
                "get_entity",
                _get_entity,
                "An entity (name or id) with its relations and chunks mentioning it.",
            ),
            ("find_path", _find_path, "Shortest relation paths between two entities (names or ids)."),
            ("get_chunk", _get_chunk, "A chunk's full text with its citation."),
            ("get_document", _get_document, "A document: title, source, state, pages, chunks, error."),
            (
                "list_datasets",
                _list_datasets,
                "Datasets you can read: documents by state, pending, last import.",
            ),
        )
    ]


def make_tool(fn: Callable[..., Any], name: str, summary: str, hints: ToolAnnotations) -> Tool:
    """A tool whose input schema is short: agents read the whole tool list on every call.
    Titles and length/range limits go (the arguments are still checked against them, and a
    call beyond one is answered with the limit); an optional argument is shown as its type
    (omit it for the default) rather than as "that type or null"."""
    tool = Tool.from_function(fn, name, description=summary, annotations=hints, structured_output=False)
    tool.parameters = _compact(tool.parameters)
    return tool


def _compact(schema: dict[str, Any]) -> dict[str, Any]:
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        for key in _UNSHOWN:
            field.pop(key, None)
        options = field.get("anyOf")
        if options and field.get("default") is None and {"type": "null"} in options and len(options) == 2:
            field.pop("anyOf")
            field.pop("default")
            field.update(next(o for o in options if o != {"type": "null"}))
    return schema


# --------------------------------------------------------------------------- search


def _search(access: Access) -> Callable[..., Any]:
    async def search_tool(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, max_length=2000)],
        datasets: Annotated[list[str] | None, Field(description="default: all")] = None,
        mode: Literal["vector", "graph", "hybrid"] = "hybrid",
        top_k: Annotated[int, Field(ge=1)] = 5,
        detail: Literal["snippets", "full"] = "snippets",
        budget: Budget = None,
        cursor: Page = None,
    ) -> Answer:
        services, caller = access.of(ctx)
        arguments = {"q": query, "d": datasets, "m": mode, "k": top_k, "x": detail}
        return await guarded(_run_search(services, caller, arguments, budget, cursor))

    return search_tool


async def _run_search(
    services: Services, caller: Scope, args: dict[str, Any], budget: int | None, given: str | None
) -> str:
    settings, ledger = services.settings, services.runtime.ledger
    limit = check_budget(budget, settings.api.mcp_budget, settings.api.max_text_budget)
    if args["k"] > settings.search.max_top_k:
        raise ApiError(
            422, "InvalidRequest", f"top_k: at most {settings.search.max_top_k}", "ask for fewer hits"
        )
    for name in args["d"] or ():
        caller.require(ledger, name)
    datasets = list(dict.fromkeys(args["d"] or ())) or caller.readable(ledger)
    if not datasets:
        raise ApiError(
            404, "DatasetNotFound", "this key can read no dataset", "ask for a key that can read one"
        )
    cursor = Cursor.resume("search", args, given)
    wanted = min(cursor.offset + args["k"], settings.search.max_top_k)
    share = SNIPPET_CHARS * wanted if args["x"] == "snippets" else settings.api.max_text_budget
    with telemetry.timed_search(args["m"]):
        answer = await search(services.runtime, args["q"], datasets, args["m"], wanted, None, share)
    head = {"status": answer.status, "message": answer.message, "pending_documents": answer.pending_documents}
    hits = [_hit(h, answer) for h in answer.hits[cursor.offset :]]
    return fit(head, "hits", hits, limit, cursor)


def _hit(hit: Hit, answer: SearchAnswer) -> dict[str, Any]:
    found: dict[str, Any] = {"chunk_id": hit.chunk_id, "document_id": hit.document_id}
    found.update(cite(hit.dataset, hit.document_title, hit.source, hit.page_start, hit.page_end, hit))
    found.update(section=" > ".join(hit.section_path), score=round(hit.score, 4), text=hit.text)
    if hit.entities:  # the entities that led to the hit: names get_entity takes
        found["entities"] = hit.entities[:5]
    if answer.truncated(hit):
        found["truncated"] = True
    return found


# --------------------------------------------------------------------------- the graph


def _get_entity(access: Access) -> Callable[..., Any]:
    async def get_entity(
        ctx: Context,
        dataset: Name,
        entity: Annotated[str, Field(min_length=1, max_length=200, description="name or id")],
        depth: Annotated[int, Field(ge=1)] = 1,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
        budget: Budget = None,
        cursor: Page = None,
    ) -> Answer:
        services, caller = access.of(ctx)
        arguments = {"d": dataset, "e": entity, "n": depth, "l": limit}
        return await guarded(_entity(services, caller, arguments, budget, cursor))

    return get_entity


async def _entity(
    services: Services, caller: Scope, args: dict[str, Any], budget: int | None, given: str | None
) -> str:
    api = services.settings.api
    limit = check_budget(budget, api.mcp_budget, api.max_text_budget)
    if args["n"] > api.max_depth:
        raise ApiError(422, "InvalidRequest", f"depth: at most {api.max_depth}", "ask for fewer hops")
    store, dataset = services.runtime.store, args["d"]
    await _stored(services, caller, dataset, "entity", args["e"])
    found = await resolve_entity(services, dataset, args["e"])
    cursor = Cursor.resume("get_entity", args, given)
    around = await graphquery.neighbourhood(store, dataset, found.id, args["n"], cursor.offset + args["l"])
    mentions = await store.chunks_mentioning(dataset, found.id, MENTIONS)
    head = {"entity": _entity_json(found), "mentioned_in": [_mention(c) for c in mentions]}
    edges = [
        {
            "from_id": e.source_id,
            "relation": e.relation,
            "direction": e.direction,
            "weight": round(e.weight, 3),
            "depth": e.depth,
            **_entity_json(e.target),
        }
        for e in around.edges[cursor.offset :]
    ]
    return fit(head, "relations", edges, limit, cursor, more=around.truncated)


async def resolve_entity(services: Services, dataset: str, ref: str) -> EntityInfo:
    """An entity by its name (normalized as the extractor does; the most mentioned of
    several) or by its id."""
    store = services.runtime.store
    named = await graphquery.find_entities(store, dataset, ref, 1)
    if named:
        return named[0]
    return await graphquery.entity(store, dataset, ref)


def _find_path(access: Access) -> Callable[..., Any]:
    async def find_path(
        ctx: Context,
        dataset: Name,
        source: Name,
        target: Name,
        max_length: Annotated[int, Field(ge=1)] = 3,
    ) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_paths(services, caller, dataset, source, target, max_length))

    return find_path


async def _paths(
    services: Services, caller: Scope, dataset: str, source: str, target: str, length: int
) -> str:
    api = services.settings.api
    if length > api.max_path_length:
        raise ApiError(
            422, "InvalidRequest", f"max_length: at most {api.max_path_length}", "ask for shorter paths"
        )
    await _stored(services, caller, dataset, "entity", source)
    start, goal = (
        await resolve_entity(services, dataset, source),
        await resolve_entity(services, dataset, target),
    )
    graph, _ = await services.runtime.searcher.graph_for(dataset)
    found = await graphquery.paths(services.runtime.store, graph, dataset, start.id, goal.id, length, 5)
    paths = [
        {
            "hops": [
                {"from": h.source.name, "relation": h.relation, "direction": h.direction, "to": h.target.name}
                for h in path
            ],
            "ids": [path[0].source.id, *(h.target.id for h in path)],
        }
        for path in found
    ]
    head = {"dataset": dataset, "source": _entity_json(start), "target": _entity_json(goal)}
    return fit(head, "paths", paths, api.mcp_budget)


def _entity_json(e: EntityInfo) -> dict[str, Any]:
    return {"id": e.id, "name": e.name, "kind": e.kind, "mentions": e.chunks}


def _mention(chunk: StoredChunk) -> dict[str, Any]:
    found: dict[str, Any] = {"chunk_id": chunk.id}
    found.update(
        cite(chunk.dataset, chunk.document_title, chunk.source, chunk.page_start, chunk.page_end, chunk)
    )
    found["text"] = cut(chunk.text, SNIPPET_CHARS // 2)
    return found


async def _stored(services: Services, caller: Scope, dataset: str, what: str, ident: str) -> None:
    """The dataset is readable; with nothing stored yet, nothing in it can be found."""
    caller.require(services.runtime.ledger, dataset)
    if not await services.runtime.store.dataset_exists(dataset):
        raise NotFound(what, ident)


# --------------------------------------------------------------------------- by id


def _get_chunk(access: Access) -> Callable[..., Any]:
    async def get_chunk(ctx: Context, dataset: Name, chunk_id: Name, budget: Budget = None) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_chunk(services, caller, dataset, chunk_id, budget))

    return get_chunk


async def _chunk(services: Services, caller: Scope, dataset: str, chunk_id: str, budget: int | None) -> str:
    api = services.settings.api
    limit = check_budget(budget, api.mcp_budget, api.max_text_budget)
    await _stored(services, caller, dataset, "chunk", chunk_id)
    found = await services.runtime.store.get_chunks(dataset, [chunk_id])
    if not found:
        raise NotFound("chunk", chunk_id)
    c = found[0]
    item: dict[str, Any] = {"chunk_id": c.id, "document_id": c.document_id}
    item.update(cite(c.dataset, c.document_title, c.source, c.page_start, c.page_end, c))
    item.update(section=" > ".join(c.section_path), text=c.text)
    return fit({}, "chunks", [item], limit)


def _get_document(access: Access) -> Callable[..., Any]:
    async def get_document(ctx: Context, dataset: Name, document_id: Name) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_document(services, caller, dataset, document_id))

    return get_document


async def _document(services: Services, caller: Scope, dataset: str, document_id: str) -> str:
    ledger = services.runtime.ledger
    caller.require(ledger, dataset)
    r = catalog.get_document(ledger, dataset, document_id)
    found: dict[str, Any] = {"document_id": r.doc_id, "dataset": r.dataset, "title": r.title or r.source}
    found["url" if r.source.startswith(("http://", "https://")) else "source"] = r.source
    found.update(state=catalog.document_state(r), pages=r.pages, chunks=r.chunks, entities=r.entities)
    found.update(error=r.error, job_id=r.job_id, updated_at=r.updated_at)
    return dumps(found)


# --------------------------------------------------------------------------- datasets


def _list_datasets(access: Access) -> Callable[..., Any]:
    async def list_datasets(ctx: Context, cursor: Page = None) -> Answer:
        services, caller = access.of(ctx)
        return await guarded(_datasets(services, caller, cursor))

    return list_datasets


async def _datasets(services: Services, caller: Scope, given: str | None) -> str:
    api, ledger = services.settings.api, services.runtime.ledger
    cursor = Cursor.resume("list_datasets", {}, given)
    names = sorted(caller.readable(ledger))
    page = names[cursor.offset : cursor.offset + api.page_size]
    items = [_dataset(s) for s in catalog.dataset_summaries(ledger, page)]
    more = cursor.offset + len(page) < len(names)
    return fit({"total": len(names)}, "datasets", items, api.mcp_budget, cursor, more=more)


def _dataset(s: DatasetSummary) -> dict[str, Any]:
    stored = s.documents.get("stored", 0)
    health = "importing" if s.pending else ("empty" if not stored else "ok")
    if s.documents.get("failed") or s.documents.get("interrupted"):
        health += ", with failures"
    return {
        "name": s.name,
        "description": cut(s.description, 200),
        "health": health,
        "documents": s.documents,
        "pending": s.pending,
        "pages": s.pages,
        "chunks": s.chunks,
        "last_import": s.last_import,
        "embedding_model": s.embedding_model,
    }
