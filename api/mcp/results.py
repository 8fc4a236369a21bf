"""What every MCP tool answer shares: compact JSON bounded by a character budget, items left
out marked (``truncated``, ``omitted``) with an opaque cursor to continue, citations (dataset,
title, pages or URL), and errors in the API's one shape.

Agents pay for every character they read, so answers are ids and snippets first and full
text only by id, and no answer is ever longer than its budget.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mcp_types import CallToolResult, TextContent

from api.errors import NOT_FOUND_HINT, ApiError, from_cognition
from cognition.errors import CognitionError
from ingest.catalog import CursorError

SNIPPET_CHARS = 300  # a hit's text at detail "snippets"
MCP_NOT_FOUND_HINT = "check the name or id; list_datasets shows the datasets you can read"
_ELLIPSIS = " …"
Answer = str | CallToolResult  # a tool's answer: compact JSON, or an error


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word where one is near, marked."""
    if len(text) <= limit:
        return text
    room = max(limit - len(_ELLIPSIS), 0)
    head = text[:room]
    space = head.rfind(" ")
    return (head[:space] if space > room // 2 else head).rstrip() + _ELLIPSIS


# --------------------------------------------------------------------------- citations


def web(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def cite(dataset: str, title: str | None, source: str, first: int, last: int, item: object) -> dict[str, Any]:
    """Where a text comes from, as a person follows it: the page's URL, or the PDF pages
    (and the printed page numbers where they differ)."""
    found: dict[str, Any] = {"dataset": dataset, "title": title or source.rsplit("/", 1)[-1]}
    if web(source):
        found["url"] = source
        return found
    found["pages"] = _span(str(first), str(last))
    printed = (getattr(item, "page_label_start", None), getattr(item, "page_label_end", None))
    if printed[0] and _span(printed[0], printed[1] or printed[0]) != found["pages"]:
        found["printed_pages"] = _span(printed[0], printed[1] or printed[0])
    return found


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


# --------------------------------------------------------------------------- budget and paging


def fit(
    head: Mapping[str, Any],
    key: str,
    items: Sequence[dict[str, Any]],
    budget: int,
    cursor: Cursor | None = None,
    more: bool = False,
) -> str:
    """``head`` with as many of ``items`` (in order) under ``key`` as the budget holds. The
    first item's ``text`` is cut rather than the answer left empty. Items left out are
    counted in ``omitted``; ``more``: further items exist beyond ``items``. Either way the
    answer is ``truncated`` and ``next_cursor`` continues it."""
    kept: list[dict[str, Any]] = []
    for item in items:
        trial = _answer(head, key, [*kept, item], len(items) - len(kept) - 1, more, cursor, len(kept) + 1)
        if len(trial) <= budget:
            kept.append(item)
            continue
        if not kept and isinstance(item.get("text"), str):
            kept.append(_shrunk(head, key, item, len(items) - 1, more, cursor, budget))
        break
    text = _answer(head, key, kept, len(items) - len(kept), more, cursor, len(kept))
    if len(text) > budget:  # the head alone is over the budget: say so rather than cut JSON
        raise ApiError(
            422, "InvalidRequest", f"budget: {budget} characters cannot hold this answer", "ask for more"
        )
    return text


def _shrunk(
    head: Mapping[str, Any],
    key: str,
    item: dict[str, Any],
    omitted: int,
    more: bool,
    cursor: Cursor | None,
    budget: int,
) -> dict[str, Any]:
    empty = {**item, "text": "", "truncated": True}
    room = budget - len(_answer(head, key, [empty], omitted, more, cursor, 1))
    text = cut(item["text"], max(room, 0))
    while text and len(dumps(text)) - 2 > room:  # escapes take more than one character
        text = cut(text, len(text) - max(len(dumps(text)) - 2 - room, 1))
    return {**item, "text": text, "truncated": True}


def _answer(
    head: Mapping[str, Any],
    key: str,
    kept: list[dict[str, Any]],
    omitted: int,
    more: bool,
    cursor: Cursor | None,
    shown: int,
) -> str:
    rest = omitted > 0 or more
    following = cursor.advanced(shown).encode() if rest and cursor is not None else None
    body = {**head, key: kept, "truncated": rest, "omitted": omitted, "next_cursor": following}
    return dumps(body)


class Cursor:
    """An opaque position in one tool's answer to one set of arguments: a cursor given for
    another tool or other arguments is refused, not misread."""

    def __init__(self, tool: str, arguments: Mapping[str, Any], offset: int = 0) -> None:
        self.tool, self.offset = tool, offset
        self.digest = hashlib.sha256(dumps([tool, dict(arguments)]).encode()).hexdigest()[:12]

    def advanced(self, by: int) -> Cursor:
        following = Cursor.__new__(Cursor)
        following.tool, following.digest, following.offset = self.tool, self.digest, self.offset + by
        return following

    def encode(self) -> str:
        raw = dumps([self.digest, self.offset]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def resume(cls, tool: str, arguments: Mapping[str, Any], given: str | None) -> Cursor:
        """The position ``given`` stands for (the start when None)."""
        start = cls(tool, arguments)
        if not given:
            return start
        try:
            digest, offset = json.loads(base64.urlsafe_b64decode(given + "=" * (-len(given) % 4)))
        except (binascii.Error, ValueError, TypeError):
            raise CursorError(given) from None
        if digest != start.digest or not isinstance(offset, int) or offset < 0:
            raise CursorError(given)
        return start.advanced(offset)


# --------------------------------------------------------------------------- errors


def tool_error(exc: Exception) -> CallToolResult:
    """An expected failure as an MCP tool error whose text is the API's error body (one
    line of JSON), as is: the SDK would prefix a raised error's text. Out-of-scope targets
    already answer as nonexistent ones."""
    error = from_cognition(exc) if isinstance(exc, CognitionError) else exc
    assert isinstance(error, ApiError)
    hint = MCP_NOT_FOUND_HINT if error.hint == NOT_FOUND_HINT else error.hint
    body = {"error": error.error, "detail": error.detail, "hint": hint, "retryable": error.retryable}
    return CallToolResult(
        content=[TextContent(type="text", text=dumps({**body, **error.extra}))], is_error=True
    )


def check_budget(budget: int | None, default: int, most: int) -> int:
    if budget is None:
        return default
    if budget > most:
        raise ApiError(422, "InvalidRequest", f"budget: at most {most}", "ask for less")
    return budget
