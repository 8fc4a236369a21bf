"""Dataset isolation on one shared Neo4j database (Community has no per-dataset database).

Two datasets are written with the *same* node ids (a document imported into both, as the
same bytes would be), so only the dataset property tells their rows apart: every read of
one returns none of the other's rows, deleting one leaves the other as it was, and the
audit's isolation check finds an edge planted across the two. Runs on ArcadeDB's Bolt
plugin, or on a real Neo4j when ``COGNITION_TEST_NEO4J_URL`` is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from cognition.audit.checks import fact_checks
from cognition.runtime import Runtime
from cognition.store.port import DocumentBatch
from tests.helpers import new_dataset_name
from tests.integration.test_store_contract import _book, _vector


class Pair:
    def __init__(self, mine: str, theirs: str, book: DocumentBatch) -> None:
        self.mine, self.theirs, self.book = mine, theirs, book


async def _one(batch: DocumentBatch) -> AsyncIterator[list[DocumentBatch]]:
    yield [batch]


@pytest_asyncio.fixture(loop_scope="session")
async def pair(neo4j_runtime: Runtime) -> Pair:
    """One book written into two datasets under identical ids; texts tell them apart."""
    mine, theirs = new_dataset_name("iso-mine"), new_dataset_name("iso-theirs")
    book = _book(mine, "git", ["Mine: git blobs.", "Mine: trees."], [["git", "blob"], ["tree", "blob"]], 0)
    copy = replace(book, dataset=theirs, chunks=[replace(c, text="Theirs: " + c.text) for c in book.chunks])
    store = neo4j_runtime.store
    for name, batch in ((mine, book), (theirs, copy)):
        await store.ensure_dataset(name)
        async with neo4j_runtime.gate.hold(name):
            await store.write(name, _one(batch))
    return Pair(mine, theirs, book)


async def _reads(runtime: Runtime, dataset: str, book: DocumentBatch) -> dict[str, Any]:
    """Every read of the port, for ``dataset``."""
    store = runtime.store
    entity = book.entities[0].id
    chunk_ids = [c.id for c in book.chunks]
    graph = await store.graph(dataset)
    facts = await store.audit_facts(dataset, 100)
    return {
        "chunks": [c.text for c in await store.get_chunks(dataset, chunk_ids)],
        "search": [s.chunk.text for s in await store.search_chunks(dataset, _vector(0).tolist(), 10)],
        "graph": (sorted(graph.entity_ids), sorted(graph.chunk_ids), len(graph.mention_chunk)),
        "relations": len(graph.relation_source),
        "entities": [(e.id, e.chunks) for e in await store.get_entities(dataset, [entity])],
        "neighbours": [(n.entity.id, n.weight) for n in await store.neighbours(dataset, entity, 10)],
        "mentioning": [c.text for c in await store.chunks_mentioning(dataset, entity, 10)],
        "counts": await store.counts(dataset),
        "stats": await store.stats(dataset),
        "documents": await store.document_ids(dataset, "", 10),
        "keys": await store.entity_keys(dataset, "", 10),
        "facts": (facts.counts, facts.mentions, facts.degrees, facts.components, facts.foreign_ids.total),
    }


async def test_every_read_of_one_dataset_returns_only_its_own_rows(
    neo4j_runtime: Runtime, pair: Pair
) -> None:
    mine = await _reads(neo4j_runtime, pair.mine, pair.book)
    theirs = await _reads(neo4j_runtime, pair.theirs, pair.book)

    assert mine["chunks"] == ["Mine: git blobs.", "Mine: trees."]
    assert theirs["chunks"] == ["Theirs: Mine: git blobs.", "Theirs: Mine: trees."]
    assert all(text.startswith("Mine") for text in mine["search"] + mine["mentioning"])
    assert all(text.startswith("Theirs") for text in theirs["search"] + theirs["mentioning"])
    assert mine["counts"].nodes == {"Document": 1, "Section": 1, "Page": 2, "Chunk": 2, "Entity": 3}
    assert mine["entities"] == [(pair.book.entities[0].id, 1)]  # not 2: the other's mention is theirs
    assert mine["neighbours"] == [(pair.book.entities[1].id, 2.0)]  # the weight not summed across
    assert mine["graph"][2] == 4 and mine["relations"] == 2
    for key in ("graph", "relations", "entities", "neighbours", "counts", "stats", "documents", "keys"):
        assert mine[key] == theirs[key], key  # the same shape, each counted once
    assert mine["facts"][:-1] == theirs["facts"][:-1]  # the audits' aggregates count each once
    assert mine["facts"][-1] < theirs["facts"][-1]  # the entity ids derive from the first dataset


async def test_deleting_one_dataset_leaves_the_other_as_it_was(neo4j_runtime: Runtime, pair: Pair) -> None:
    before = await _reads(neo4j_runtime, pair.theirs, pair.book)

    async with neo4j_runtime.gate.hold(pair.mine):
        await neo4j_runtime.store.delete_dataset(pair.mine)

    assert not await neo4j_runtime.store.dataset_exists(pair.mine)
    assert await _reads(neo4j_runtime, pair.theirs, pair.book) == before


async def test_the_isolation_check_finds_an_edge_that_leaves_the_dataset(
    neo4j_runtime: Runtime, pair: Pair
) -> None:
    """An edge from one dataset's chunk to the other's entity (something other than this
    adapter wrote it) is an isolation defect of the dataset it leaves, named by its node."""
    chunk, entity = pair.book.chunks[0].id, pair.book.entities[0].id
    settings = neo4j_runtime.settings
    limits = settings.audit
    clean = await neo4j_runtime.store.audit_facts(pair.mine, 10)
    await _cypher(
        neo4j_runtime,
        "MATCH (a:Node {dataset: $mine, id: $chunk}), (b:Node {dataset: $theirs, id: $entity}) "
        "CREATE (a)-[:EDGE {dataset: $mine, name: 'mentions', document_id: 'planted'}]->(b)",
        mine=pair.mine,
        theirs=pair.theirs,
        chunk=chunk,
        entity=entity,
    )

    facts = await neo4j_runtime.store.audit_facts(pair.mine, 10)
    [before] = [c for c in fact_checks(clean, 384, limits) if c.name == "isolation"]
    [after] = [c for c in fact_checks(facts, 384, limits) if c.name == "isolation"]

    assert chunk not in before.offenders
    assert after.status == "critical"
    assert set(after.offenders) - set(before.offenders) == {chunk}
    assert after.total == before.total + 1
    assert (await neo4j_runtime.store.counts(pair.mine)).edges[
        "mentions"
    ] == 4  # the planted one is not its own


async def _cypher(runtime: Runtime, query: str, **params: Any) -> None:
    """A statement outside the adapter (it refuses any query not bound to one dataset)."""
    from neo4j import AsyncGraphDatabase

    store = runtime.settings.store
    assert store.neo4j_password is not None
    auth = (store.neo4j_user, store.neo4j_password.get_secret_value())
    async with (
        AsyncGraphDatabase.driver(store.neo4j_url, auth=auth) as driver,
        driver.session(database=store.neo4j_database) as session,
    ):
        await (await session.run(query, params)).consume()


async def test_a_wrong_password_is_one_line_naming_the_settings(neo4j_runtime: Runtime) -> None:
    from pydantic import SecretStr

    from cognition.errors import ConfigurationError
    from cognition.store.neo4j import Neo4jStore

    store = neo4j_runtime.settings.store.model_copy(update={"neo4j_password": SecretStr("not-the-password")})
    wrong = Neo4jStore(neo4j_runtime.settings.model_copy(update={"store": store}))

    with pytest.raises(ConfigurationError) as raised:
        await wrong.list_datasets()

    assert "refused user" in str(raised.value) and "COGNITION_STORE__NEO4J_PASSWORD" in str(raised.value)
    assert "not-the-password" not in str(raised.value)
