"""Constraints and indexes, created idempotently when the store starts.

``(dataset, id)`` is unique per node where the server can say so (Neo4j 5 Community has
composite uniqueness constraints); where a server refuses the constraint the same pair
gets a plain index, so lookups stay index seeks and isolation does not depend on either
(it is in every query: :mod:`cognition.store.neo4j.cypher`). ``(dataset, type)`` serves the
per-type scans and counts.
"""

from __future__ import annotations

import logging
from typing import Any

from neo4j.exceptions import AuthError, ClientError, DatabaseError

log = logging.getLogger(__name__)

_CONSTRAINTS = (
    (
        "CREATE CONSTRAINT cognition_node_key IF NOT EXISTS FOR (n:Node) REQUIRE (n.dataset, n.id) IS UNIQUE",
        "CREATE INDEX cognition_node_key IF NOT EXISTS FOR (n:Node) ON (n.dataset, n.id)",
    ),
    (
        "CREATE CONSTRAINT cognition_dataset IF NOT EXISTS FOR (d:Dataset) REQUIRE d.dataset IS UNIQUE",
        "CREATE INDEX cognition_dataset IF NOT EXISTS FOR (d:Dataset) ON (d.dataset)",
    ),
)
_INDEXES = (
    "CREATE INDEX cognition_node_type IF NOT EXISTS FOR (n:Node) ON (n.dataset, n.type)",
    "CREATE INDEX cognition_node_document IF NOT EXISTS FOR (n:Node) ON (n.dataset, n.document_id)",
)


async def ensure_schema(session: Any) -> None:
    """Create what is missing; a statement the server does not support falls back (a
    constraint to an index) or is skipped with a warning (an index)."""
    for constraint, index in _CONSTRAINTS:
        if not await _try(session, constraint):
            await _try(session, index)
    for statement in _INDEXES:
        await _try(session, statement)


async def _try(session: Any, statement: str) -> bool:
    try:
        await (await session.run(statement)).consume()
    except AuthError:
        raise  # not the statement: the credentials (the caller says so)
    except (ClientError, DatabaseError) as error:
        log.warning("graph schema statement refused (%s): %s", error.code, statement)
        return False
    return True
