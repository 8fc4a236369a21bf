"""The Neo4j adapter's query builder: isolation by construction. Every query the adapter
holds is a checked ``Scoped`` query, and a query that could reach another dataset's rows
is refused before it ever runs."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import cognition.store.neo4j as package
from cognition.store.neo4j.cypher import Scoped, UnscopedQuery, listing, scoped


def test_every_pattern_gets_the_dataset() -> None:
    query = scoped(
        "MATCH (a:Node {id: $id})-[r:EDGE]->(b:Node) WHERE EXISTS { MATCH (:Node)-[:EDGE]->(b) } RETURN a"
    )

    assert query.text == (
        "MATCH (a:Node {dataset: $dataset, id: $id})-[r:EDGE {dataset: $dataset}]->"
        "(b:Node {dataset: $dataset}) WHERE EXISTS { MATCH (:Node {dataset: $dataset})"
        "-[:EDGE {dataset: $dataset}]->(b) } RETURN a"
    )


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("MATCH (n) RETURN n", "names no dataset"),
        ("MATCH (a:Node)-[r]->(b:Node) RETURN a", "untyped relationship"),
        ("MATCH (a:Node)-->(b:Node) RETURN a", "untyped relationship"),
        ("MATCH (a:Node)--(b:Node) RETURN a", "untyped relationship"),
        ("MATCH (a:Node)-[:KNOWS]->(b:Node) RETURN a", "does not scope (KNOWS)"),
        ("MATCH (c:Chunk) RETURN c", "does not scope (Chunk)"),
        ("MATCH (a:Node), (n) WHERE n.id = a.id DETACH DELETE n", "not bound to the dataset ((n))"),
        ("MATCH (a:Node)-[r:EDGE]->() RETURN count(r)", "not bound to the dataset (())"),
        ("MATCH (n)-[r:EDGE]->(a:Node) RETURN n", "not bound to the dataset ((n))"),
    ],
)
def test_a_query_that_could_leave_its_dataset_is_refused(query: str, reason: str) -> None:
    with pytest.raises(UnscopedQuery, match=re.escape(reason)):
        scoped(query)


def test_only_the_dataset_listing_reads_across_datasets() -> None:
    assert listing("MATCH (d:Dataset) RETURN d.dataset ORDER BY d.dataset").text.startswith(
        "MATCH (d:Dataset)"
    )
    with pytest.raises(UnscopedQuery, match="only the dataset listing"):
        listing("MATCH (n:Node) DETACH DELETE n")


FRAGMENTS = {"_ORPHAN", "_DEGREE", "_CROSSING"}  # beginnings of queries, each completed by scoped()


def test_every_query_the_adapter_holds_is_checked() -> None:
    """Module-level query texts are ``Scoped`` (built by ``scoped``/``listing``), never plain
    strings that ``run`` could be handed."""
    found = 0
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for name, value in vars(loaded).items():
            if isinstance(value, Scoped):
                found += 1
                assert "$dataset" in value.text or "(d:Dataset)" in value.text, name
            elif isinstance(value, str) and "MATCH" in value and name.isupper():
                assert name in FRAGMENTS, f"{loaded.__name__}.{name} is not checked"
    assert found > 30
