"""The MCP server mounted on the app, over real HTTP: a uvicorn server on a free loopback
port (on the session's event loop and runtime), the official MCP client over streamable
HTTP with a bearer key. Read-only tools by default; answers cite their sources; a key
scoped to dataset A learns nothing of dataset B: every probe of B answers exactly as a
probe of something that does not exist."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import pytest_asyncio
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from api import create_app
from cognition.keys import open_keys, parse_grant
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.importer import Importer
from tests.helpers import new_dataset_name

MISSING = "nope-" + "0" * 12  # a dataset, document, chunk and entity that exist nowhere


@dataclass(frozen=True)
class Served:
    url: str
    a: str  # dataset the scoped key reads
    b: str  # dataset it may not see
    key_a: str  # secret of a key with read on A only
    b_document: str
    b_chunk: str
    b_title: str
    b_entity: tuple[str, str]  # id, name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(runtime: Runtime, settings: Settings, excerpts: dict[str, Path]) -> AsyncIterator[Served]:
    """Two datasets of one excerpt each, and the app served by uvicorn on 127.0.0.1."""
    a, b = new_dataset_name("mcp-a"), new_dataset_name("mcp-b")
    importer = Importer(runtime)
    await importer.import_paths([excerpts["git_objects"]], a)
    await importer.import_paths([excerpts["bash_expansion"]], b)
    record = runtime.ledger.documents(b)[0]
    graph = await runtime.store.graph(b)
    chunk = (await runtime.store.get_chunks(b, graph.chunk_ids[:1]))[0]
    _, secret = open_keys(settings).create("mcp-a", [parse_grant(f"read:{a}")])
    app = create_app(settings, runtime=runtime)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # bounded: 60 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Served(
        f"http://127.0.0.1:{port}/mcp",
        a,
        b,
        secret,
        record.doc_id,
        chunk.id,
        chunk.document_title,
        (graph.entity_ids[0], graph.entity_names[0]),
    )
    server.should_exit = True
    await task


@asynccontextmanager
async def _client(url: str, secret: str, mode: str = "legacy") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {secret}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(300)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


async def _call(client: Client, tool: str, **arguments: Any) -> tuple[bool, str]:
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return bool(result.is_error), text


# --------------------------------------------------------------------------- what it serves


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_tools_are_listed_read_only_with_their_annotations(served: Served, mode: str) -> None:
    async with _client(served.url, served.key_a, mode) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == {
        "search",
        "get_entity",
        "find_path",
        "get_chunk",
        "get_document",
        "list_datasets",
    }
    for tool in tools:
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False


async def test_search_then_full_text_by_id_each_citing_dataset_title_and_pages(served: Served) -> None:
    async with _client(served.url, served.key_a) as client:
        failed, text = await _call(client, "search", query="how does git store a tree object", budget=3000)
        assert not failed, text
        assert len(text) <= 3000
        found = json.loads(text)
        assert found["status"] == "ok" and found["hits"]
        top = found["hits"][0]
        assert top["dataset"] == served.a and top["title"] == "Git objects"
        assert 1 <= int(top["pages"].split("-")[0]) <= 5
        assert len(top["text"]) <= 310  # a snippet; the full text is one call away
        failed, text = await _call(client, "get_chunk", dataset=served.a, chunk_id=top["chunk_id"])
        assert not failed, text
        chunk = json.loads(text)["chunks"][0]
        assert chunk["chunk_id"] == top["chunk_id"] and chunk["pages"] == top["pages"]
        assert chunk["text"].startswith(top["text"].removesuffix(" …")[:60])
        failed, text = await _call(client, "get_document", dataset=served.a, document_id=top["document_id"])
        assert not failed and json.loads(text)["state"] == "stored"


async def test_a_small_budget_cuts_the_answer_and_the_cursor_continues_it(served: Served) -> None:
    async with _client(served.url, served.key_a) as client:
        failed, text = await _call(client, "search", query="git objects", top_k=6, budget=900)
        assert not failed, text
        first = json.loads(text)
        assert len(text) <= 900 and first["truncated"] is True
        assert first["omitted"] == 6 - len(first["hits"])
        arguments = {"query": "git objects", "top_k": 6, "budget": 900, "cursor": first["next_cursor"]}
        failed, text = await _call(client, "search", **arguments)
        assert not failed, text
        ids = [h["chunk_id"] for h in first["hits"]] + [h["chunk_id"] for h in json.loads(text)["hits"]]
        assert len(ids) == len(set(ids))  # the next page continues, never repeats


async def test_an_entity_with_its_neighbours_and_a_path_to_one_of_them(served: Served) -> None:
    async with _client(served.url, served.key_a) as client:
        failed, text = await _call(client, "search", query="git tree object", mode="graph")
        name = json.loads(text)["hits"][0]["entities"][0]
        failed, text = await _call(client, "get_entity", dataset=served.a, entity=name.upper(), depth=2)
        assert not failed, text
        found = json.loads(text)
        assert found["entity"]["name"] == name and found["mentioned_in"]
        assert all(m["dataset"] == served.a for m in found["mentioned_in"])
        assert found["relations"] and {r["depth"] for r in found["relations"]} <= {1, 2}
        far = found["relations"][-1]
        failed, text = await _call(client, "find_path", dataset=served.a, source=name, target=far["id"])
        assert not failed, text
        paths = json.loads(text)["paths"]
        assert paths and paths[0]["ids"][0] == found["entity"]["id"] and paths[0]["ids"][-1] == far["id"]
        assert 1 <= len(paths[0]["hops"]) <= far["depth"]


async def test_list_datasets_shows_only_the_keys_datasets_with_their_health(served: Served) -> None:
    async with _client(served.url, served.key_a) as client:
        failed, text = await _call(client, "list_datasets")
    assert not failed, text
    found = json.loads(text)
    assert [d["name"] for d in found["datasets"]] == [served.a] and found["total"] == 1
    (dataset,) = found["datasets"]
    assert dataset["documents"] == {"stored": 1} and dataset["pending"] == 0
    assert dataset["health"] == "ok" and dataset["last_import"] is not None
    assert served.b not in text


async def test_the_mcp_endpoint_needs_a_valid_key(served: Served) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient(timeout=30) as http:
        for headers in ({}, {"Authorization": "Bearer cog_not-a-key"}):
            answer = await http.post(served.url, json=body, headers=headers)
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"] == "Bearer"
            assert answer.json()["error"] == "Unauthenticated"


# --------------------------------------------------------------------------- the leak matrix


def _probes(s: Served) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(what, tool, arguments probing B, the same arguments naming something nonexistent)."""
    entity_id, entity_name = s.b_entity

    def probe(what: str, tool: str, missing: tuple[str, ...], **args: Any) -> tuple[str, str, Any, Any]:
        absent = {
            k: ([MISSING] if isinstance(v, list) else MISSING) if k in missing else v for k, v in args.items()
        }
        return what, tool, args, absent

    probes = [
        probe("dataset by name", "search", ("datasets",), query="x", datasets=[s.b]),
        probe("document by id", "get_document", ("dataset",), dataset=s.b, document_id=s.b_document),
        probe("document in A", "get_document", ("document_id",), dataset=s.a, document_id=s.b_document),
        probe("chunk by id", "get_chunk", ("dataset",), dataset=s.b, chunk_id=s.b_chunk),
        probe("chunk in A", "get_chunk", ("chunk_id",), dataset=s.a, chunk_id=s.b_chunk),
        probe("entity by name", "get_entity", ("dataset",), dataset=s.b, entity=entity_name),
        probe("entity by id", "get_entity", ("dataset",), dataset=s.b, entity=entity_id),
        probe("path", "find_path", ("dataset",), dataset=s.b, source=entity_id, target=entity_name),
    ]
    probes += [
        probe("entity id in A", "get_entity", ("entity",), dataset=s.a, entity=entity_id),
        probe(
            "path in A",
            "find_path",
            ("source", "target"),
            dataset=s.a,
            source=entity_id,
            target=entity_id,
        ),
    ]
    return probes


def _swap(text: str, probe: dict[str, Any], missing: dict[str, Any]) -> str:
    """The nonexistent target's answer with its names replaced by the probe's (an error
    may echo what the caller asked for; that is not a leak)."""
    for key, value in missing.items():
        if value == MISSING or value == [MISSING]:
            text = text.replace(MISSING, probe[key][0] if isinstance(probe[key], list) else probe[key])
    return text


async def test_a_key_scoped_to_one_dataset_learns_nothing_of_another(served: Served) -> None:
    secrets = {served.b, served.b_document, served.b_chunk, served.b_title, *served.b_entity}
    async with _client(served.url, served.key_a) as client:
        for what, tool, probe, missing in _probes(served):
            failed, answer = await _call(client, tool, **probe)
            failed_too, expected = await _call(client, tool, **missing)
            assert failed and failed_too, (what, answer)
            assert answer == _swap(expected, probe, missing), what
            assert set(json.loads(answer)) == {"error", "detail", "hint", "retryable"}  # the API's body
            echoed = {str(v) for v in probe.values()} | {
                x for v in probe.values() if isinstance(v, list) for x in v
            }
            for secret in secrets - echoed:
                assert secret not in answer, (what, secret)
        failed, everything = await _call(client, "search", query="bash parameter expansion", top_k=10)
        assert not failed, everything
        assert all(h["dataset"] == served.a for h in json.loads(everything)["hits"])
        for secret in secrets:
            assert secret not in everything
