"""The one place the Neo4j adapter's Cypher is built and checked: dataset isolation by
construction.

Neo4j Community has one user database (``CREATE DATABASE`` is Enterprise), so every dataset
shares it: each node (label ``Node``) and each relationship (type ``EDGE``) carries a
``dataset`` property, and every query the adapter runs is a :class:`Scoped` query. Queries
are written with bare patterns (``(n:Node {id: $id})``, ``[r:EDGE]``); :func:`scoped` adds
``dataset: $dataset`` to every ``Node``, ``EDGE`` and ``Dataset`` pattern, then refuses the
query if any pattern is left unscoped (an untyped relationship, a bare ``-->``), and
:func:`run` always binds ``$dataset``. A query cannot reach another dataset's rows
without being written through the one escape hatch, ``crossing=True``, which only the
audit's isolation check uses (it looks for edges that leave the dataset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SCOPE = "dataset: $dataset"
_LABELS = ("Node", "EDGE", "Dataset")
_UNTYPED = re.compile(r"\[\s*\w*\s*(\{[^}]*\})?\s*\]|-->|<--|--(?!\[)|\]-(?!>)\s*\(\s*\)")
_BARE = re.compile(r"(?<![\w.])\(\s*(\w*)\s*\)")  # ``(n)`` or ``()``: not a call such as count(n)
_TYPED = re.compile(r"[(\[]\s*\w*\s*:\s*`?(\w+)")  # the label or type a pattern names


class UnscopedQuery(ValueError):
    """A query some pattern of which does not carry the dataset."""


@dataclass(frozen=True)
class Scoped:
    """A checked query: every node and relationship pattern bound to ``$dataset``."""

    text: str


def scoped(query: str, *, crossing: bool = False) -> Scoped:
    """``query`` with ``dataset: $dataset`` in every ``Node``/``EDGE``/``Dataset`` pattern,
    or :class:`UnscopedQuery`. ``crossing`` lets untyped patterns through (the isolation
    check's search for edges that leave the dataset) but still needs the dataset bound."""
    text = query
    for label in _LABELS:
        text = re.sub(rf":{label}\s*\{{", f":{label} {{{_SCOPE}, ", text)
        text = re.sub(rf":{label}\s*(?=[)\]])", f":{label} {{{_SCOPE}}}", text)
    for name in _TYPED.findall(text):
        if name not in _LABELS:
            raise UnscopedQuery(f"a label or type the adapter does not scope ({name}): {query!r}")
    for label in _LABELS:
        total = len(re.findall(rf":{label}\b", text))
        bound = text.count(f":{label} {{{_SCOPE}")
        if total != bound:
            raise UnscopedQuery(f"a {label} pattern without the dataset: {query!r}")
    if "$dataset" not in text:
        raise UnscopedQuery(f"a query that names no dataset: {query!r}")
    if not crossing and _UNTYPED.search(text):
        raise UnscopedQuery(f"an untyped relationship pattern: {query!r}")
    if not crossing:
        _check_bare_nodes(text, query)
    return Scoped(" ".join(text.split()))


def _check_bare_nodes(text: str, query: str) -> None:
    """A node pattern without a label names a node matched before as ``Node`` or ``Dataset``
    (``(c)-[r:EDGE]->(e:Node)``); ``()`` or a fresh ``(n)`` would match any node."""
    for found in _BARE.finditer(text):
        name = found.group(1)
        bound = re.search(rf"\(\s*{name}\s*:\s*(Node|Dataset)\b", text[: found.start()]) if name else None
        if bound is None:
            raise UnscopedQuery(f"a node pattern not bound to the dataset ({found.group()}): {query!r}")


def listing(query: str) -> Scoped:
    """The one query that reads across datasets: the names of the datasets themselves."""
    if query.strip() != "MATCH (d:Dataset) RETURN d.dataset ORDER BY d.dataset":
        raise UnscopedQuery(f"only the dataset listing may read every dataset: {query!r}")
    return Scoped(query)


async def run(tx: Any, query: Scoped, dataset: str, **params: Any) -> list[list[Any]]:
    """Run ``query`` for ``dataset`` in transaction (or session) ``tx``: rows as lists."""
    if "dataset" in params:
        raise UnscopedQuery("the dataset parameter is bound by run() alone")
    result = await tx.run(query.text, {"dataset": dataset, **params})
    return [list(record.values()) async for record in result]
