"""The Neo4j backend for tests: a real Neo4j when ``COGNITION_TEST_NEO4J_URL`` is set
(``bolt://user:password@127.0.0.1:7687``), otherwise ArcadeDB's Bolt plugin
(:mod:`bench.arcadedb_server`) started once per session on a free loopback port.
The fixtures are registered for every integration test by ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import pytest_asyncio
from pydantic import SecretStr

from bench.arcadedb_server import ArcadeDBServer
from cognition.runtime import Runtime
from cognition.settings import AuditSettings, Settings, StoreSettings

REAL_NEO4J = os.environ.get("COGNITION_TEST_NEO4J_URL", "")
BACKEND = "neo4j" if REAL_NEO4J else "neo4j-arcadedb"


@dataclass(frozen=True)
class Bolt:
    url: str
    user: str
    password: str


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bolt]:
    if REAL_NEO4J:
        parts = urlsplit(REAL_NEO4J)
        url = f"{parts.scheme}://{parts.hostname}:{parts.port or 7687}"
        yield Bolt(url, unquote(parts.username or "neo4j"), unquote(parts.password or ""))
        return
    server = ArcadeDBServer(tmp_path_factory.mktemp("arcadedb"))
    server.start()
    try:
        yield Bolt(server.url, "root", server.password)
    finally:
        server.stop()


def neo4j_settings(bolt: Bolt, data_dir: Path) -> Settings:
    store = StoreSettings(
        graph="neo4j", neo4j_url=bolt.url, neo4j_user=bolt.user, neo4j_password=SecretStr(bolt.password)
    )
    return Settings(data_dir=data_dir, audit=AuditSettings(every_seconds=0), store=store)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def neo4j_runtime(
    neo4j_server: Bolt, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    """A runtime whose store is the Neo4j adapter (its own data directory: ledger, vectors);
    the datasets the session made are deleted after it."""
    built = Runtime.build(neo4j_settings(neo4j_server, tmp_path_factory.mktemp("neo4j-data")))
    before = set(await built.store.list_datasets())
    yield built
    for name in set(await built.store.list_datasets()) - before:  # a real server outlives the tests
        await built.store.delete_dataset(name)
    await built.close()
