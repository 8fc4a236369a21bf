"""What an agent pays for the MCP server: the whole tool list (names, descriptions, input
schemas) measured in tokens with the project's tokenizer, and every answer bounded by its
character budget, with what was left out counted and a cursor to continue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tokenizers import Tokenizer  # type: ignore[import-untyped,unused-ignore]

from api.errors import ApiError
from api.mcp import build_mcp
from api.mcp.results import Cursor, fit
from cognition.embedding._files import find_packaged_model_dir
from cognition.settings import ApiSettings, Settings
from ingest.catalog import CursorError

READ_TOOLS = {"search", "get_entity", "find_path", "get_chunk", "get_document", "list_datasets"}
WRITE_TOOLS = {"submit_path", "submit_url", "submit_crawl", "job_status", "delete_document"}
TOKEN_LIMIT = 1000


def _tools(write: bool) -> list[Any]:
    server = build_mcp(lambda: None, lambda ctx: None, Settings(api=ApiSettings(mcp_write=write)))  # type: ignore[arg-type,return-value]
    return list(asyncio.run(server.list_tools()))


def _tokens(tools: list[Any]) -> int:
    tokenizer = Tokenizer.from_file(str(find_packaged_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    listed = [{"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools]
    text = json.dumps(listed, separators=(",", ":"))
    return len(tokenizer.encode(text, add_special_tokens=False).ids)


def test_the_default_tool_list_is_read_only_annotated_and_under_a_thousand_tokens() -> None:
    tools = _tools(write=False)
    assert {t.name for t in tools} == READ_TOOLS
    for tool in tools:
        hints = tool.annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (True, False, True)
        assert hints.open_world_hint is False
        assert len(tool.description) <= 100, tool.name
    size = _tokens(tools)
    print(f"\nMCP tool list (read-only, {len(tools)} tools): {size} tokens")
    assert size < TOKEN_LIMIT


def test_the_write_profile_adds_submissions_job_status_and_a_destructive_delete() -> None:
    tools = {t.name: t for t in _tools(write=True)}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    delete = tools["delete_document"].annotations
    assert delete.read_only_hint is False and delete.destructive_hint is True
    assert "confirm" in tools["delete_document"].input_schema["properties"]
    for name in ("submit_path", "submit_url", "submit_crawl"):
        assert tools[name].annotations.read_only_hint is False
        assert tools[name].annotations.destructive_hint is False
    print(f"\nMCP tool list (write profile, {len(tools)} tools): {_tokens(list(tools.values()))} tokens")


# --------------------------------------------------------------------------- fit


def _items(n: int, chars: int) -> list[dict[str, Any]]:
    return [{"chunk_id": f"c{i}", "text": "word " * (chars // 5)} for i in range(n)]


@pytest.mark.parametrize("budget", [300, 1000, 4000])
def test_an_answer_never_exceeds_its_budget_and_counts_what_it_left_out(budget: int) -> None:
    items = _items(10, 400)
    text = fit({"status": "ok"}, "hits", items, budget, Cursor("search", {"q": "x"}))
    assert len(text) <= budget
    answer = json.loads(text)
    shown = len(answer["hits"])
    assert shown >= 1
    assert answer["omitted"] == 10 - shown
    assert answer["truncated"] is True and answer["next_cursor"]


def test_everything_that_fits_is_shown_without_a_cursor() -> None:
    answer = json.loads(fit({}, "hits", _items(3, 50), 4000, Cursor("search", {})))
    assert len(answer["hits"]) == 3
    assert (answer["truncated"], answer["omitted"], answer["next_cursor"]) == (False, 0, None)


def test_a_first_item_longer_than_the_budget_is_cut_and_marked_rather_than_dropped() -> None:
    text = fit({}, "chunks", [{"chunk_id": "c0", "text": "é" * 5000 + ' "quoted"'}], 500)
    assert len(text) <= 500
    chunk = json.loads(text)["chunks"][0]
    assert chunk["truncated"] is True and chunk["text"].endswith("…")


def test_a_cursor_continues_the_same_call_and_is_refused_for_another() -> None:
    first = json.loads(fit({}, "hits", _items(10, 400), 600, Cursor("search", {"q": "a"})))
    following = Cursor.resume("search", {"q": "a"}, first["next_cursor"])
    assert following.offset == len(first["hits"])
    with pytest.raises(CursorError):
        Cursor.resume("search", {"q": "b"}, first["next_cursor"])
    with pytest.raises(CursorError):
        Cursor.resume("list_datasets", {"q": "a"}, first["next_cursor"])
    with pytest.raises(CursorError):
        Cursor.resume("search", {"q": "a"}, "not-a-cursor!")


def test_a_budget_too_small_for_the_answer_itself_is_a_clear_error() -> None:
    with pytest.raises(ApiError, match="budget: 20 characters"):
        fit({"message": "x" * 50}, "hits", [], 20)
