"""Where ``cognition search`` is answered: by the server running on this data directory when
one answers (``api.local``; a search then costs milliseconds, not cognee's start-up), else
in this process. Both give the API's ``SearchOut`` body and its hits rebuilt from that body,
so both print the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from cli.common import with_runtime
from cli.remote import ask, running_server
from cognition.search import Hit, validate
from cognition.settings import Settings

if TYPE_CHECKING:
    from api.local import LocalServer
    from cognition.runtime import Runtime

AnsweredBy = Literal["server", "process"]
_HIT_FIELDS = {f.name for f in fields(Hit)}


@dataclass(frozen=True)
class Request:
    query: str
    datasets: list[str]
    mode: str
    top_k: int
    text_budget: int

    def body(self) -> dict[str, object]:
        return {
            "query": self.query,
            "datasets": self.datasets,
            "mode": self.mode,
            "top_k": self.top_k,
            "text_budget": self.text_budget,
        }


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]  # the API's SearchOut, with "answered_by"
    hits: list[Hit]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


def answer(
    settings: Settings, query: str, datasets: Sequence[str], mode: str, top_k: int, local: bool
) -> Reply:
    """Search through the running server unless ``local``; in this process otherwise."""
    check(settings, query, datasets, mode, top_k)
    request = Request(query, list(datasets), mode, top_k, settings.api.text_budget)
    if not local:
        server = running_server(settings)
        body = None if server is None else ask_server(server, request)
        if body is not None:
            return reply(body, "server")
    return reply(with_runtime(lambda runtime: in_process(runtime, request), settings), "process")


def check(settings: Settings, query: str, datasets: Sequence[str], mode: str, top_k: int) -> None:
    """Refuse what the searcher refuses, with its words, before choosing who answers."""
    validate(settings.search, query, datasets, mode, top_k)


async def in_process(runtime: Runtime, request: Request) -> dict[str, Any]:
    """What ``POST /v1/search`` answers, computed here."""
    from api.models import SearchOut
    from ingest.query import search

    found = await search(
        runtime,
        request.query,
        request.datasets,
        request.mode,
        request.top_k,
        text_budget=request.text_budget,
    )
    return SearchOut.of(found).model_dump(mode="json")


def ask_server(server: LocalServer, request: Request) -> dict[str, Any] | None:
    """The server's answer; None if it went away or no longer knows the token (then this
    process answers). An error the server gives is this search's error."""
    return ask(server, "POST", "/v1/search", request.body())


def reply(body: dict[str, Any], by: AnsweredBy) -> Reply:
    return Reply({**body, "answered_by": by}, [hit_of(h) for h in body.get("hits", [])])


def hit_of(data: dict[str, Any]) -> Hit:
    """A hit of the API's JSON as a ``Hit`` (a web page has no page number there: 1 here)."""
    extra = {name: data.get(name) for name in ("page_label_start", "page_label_end") if name in _HIT_FIELDS}
    return Hit(
        dataset=data["dataset"],
        chunk_id=data["chunk_id"],
        document_id=data["document_id"],
        document_title=data["document_title"],
        source=data["source"],
        section_path=tuple(data["section"]),
        page_start=data["page_start"] or 1,
        page_end=data["page_end"] or 1,
        text=data["text"],
        score=data["score"],
        entities=list(data["entities"]),
        **extra,
    )
