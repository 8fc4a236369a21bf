"""The graph: entities by name, an entity's neighbourhood, paths, mentions, chunks by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Caller
from api.errors import ERROR_RESPONSES, ApiError
from api.graph_models import ChunkList, ChunkOut, EntityList, EntityOut, HopOut, NeighbourhoodOut, PathList
from api.services import Services
from api.state import Deps
from cognition import graphquery
from cognition.errors import NotFound
from ingest.scope import Scope

router = APIRouter(prefix="/v1/datasets/{dataset}", tags=["graph"], responses=ERROR_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=200)]


async def _stored(caller: Scope, services: Services, dataset: str, what: str, ident: str) -> None:
    """The dataset is readable; with nothing stored yet, nothing in it can be found."""
    caller.require(services.runtime.ledger, dataset)
    if not await services.runtime.store.dataset_exists(dataset):
        raise NotFound(what, ident)


@router.get("/chunks/{chunk_id}", response_model=ChunkOut, summary="A chunk's full text with its provenance")
async def get_chunk(dataset: str, chunk_id: str, caller: Caller, services: Deps) -> ChunkOut:
    await _stored(caller, services, dataset, "chunk", chunk_id)
    found = await services.runtime.store.get_chunks(dataset, [chunk_id])
    if not found:
        raise NotFound("chunk", chunk_id)
    return ChunkOut.of(found[0])


@router.get(
    "/entities", response_model=EntityList, summary="Entities by name (normalized as the extractor does)"
)
async def find_entities(
    dataset: str,
    caller: Caller,
    services: Deps,
    name: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Limit = 20,
) -> EntityList:
    caller.require(services.runtime.ledger, dataset)
    if not await services.runtime.store.dataset_exists(dataset):
        return EntityList(entities=[])
    found = await graphquery.find_entities(services.runtime.store, dataset, name, limit)
    return EntityList(entities=[EntityOut.of(e) for e in found])


@router.get("/entities/{entity_id}", response_model=NeighbourhoodOut, summary="An entity with its neighbours")
async def get_entity(
    dataset: str,
    entity_id: str,
    caller: Caller,
    services: Deps,
    depth: Annotated[int, Query(ge=1)] = 1,
    limit: Limit = 50,
) -> NeighbourhoodOut:
    if depth > services.settings.api.max_depth:
        raise ApiError(
            422, "InvalidRequest", f"depth: at most {services.settings.api.max_depth}", "ask for fewer hops"
        )
    await _stored(caller, services, dataset, "entity", entity_id)
    found = await graphquery.neighbourhood(services.runtime.store, dataset, entity_id, depth, limit)
    return NeighbourhoodOut.of(found)


@router.get(
    "/entities/{entity_id}/chunks", response_model=ChunkList, summary="The chunks that mention an entity"
)
async def entity_chunks(
    dataset: str, entity_id: str, caller: Caller, services: Deps, limit: Limit = 20
) -> ChunkList:
    await _stored(caller, services, dataset, "entity", entity_id)
    await graphquery.entity(services.runtime.store, dataset, entity_id)
    chunks = await services.runtime.store.chunks_mentioning(dataset, entity_id, limit)
    return ChunkList(chunks=[ChunkOut.of(c) for c in chunks])


@router.get("/paths", response_model=PathList, summary="Shortest paths between two entities (bounded length)")
async def find_paths(
    dataset: str,
    caller: Caller,
    services: Deps,
    source: Annotated[str, Query(min_length=1, max_length=200, description="entity id")],
    target: Annotated[str, Query(min_length=1, max_length=200, description="entity id")],
    max_length: Annotated[int, Query(ge=1)] = 3,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> PathList:
    if max_length > services.settings.api.max_path_length:
        raise ApiError(
            422,
            "InvalidRequest",
            f"max_length: at most {services.settings.api.max_path_length}",
            "ask for shorter paths",
        )
    await _stored(caller, services, dataset, "entity", source)
    graph, _ = await services.runtime.searcher.graph_for(dataset)
    found = await graphquery.paths(services.runtime.store, graph, dataset, source, target, max_length, limit)
    return PathList(paths=[[HopOut.of(h) for h in path] for path in found])
