"""The store section: which graph backend, and Neo4j's connection, refused in one line
(naming the variable, never echoing a password) when it cannot work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cognition.embedding.port import Embedder
from cognition.errors import ConfigurationError
from cognition.runtime import make_store
from cognition.settings import Settings, get_settings
from cognition.store.neo4j import Neo4jStore


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("COGNITION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()  # read anew by each test, and by whatever runs after
    yield
    get_settings.cache_clear()


def test_the_graph_is_ladybug_unless_neo4j_is_asked_for() -> None:
    store = Settings().store

    assert (store.graph, store.neo4j_url, store.neo4j_user, store.neo4j_database) == (
        "ladybug",
        "bolt://127.0.0.1:7687",
        "neo4j",
        "neo4j",
    )
    assert store.neo4j_password is None


def test_neo4j_settings_from_the_environment_pick_the_neo4j_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_STORE__GRAPH", "neo4j")
    monkeypatch.setenv("COGNITION_STORE__NEO4J_URL", "neo4j+s://graph.internal:7687")
    monkeypatch.setenv("COGNITION_STORE__NEO4J_PASSWORD", "s3cret-value")

    settings = get_settings()

    assert settings.store.neo4j_url == "neo4j+s://graph.internal:7687"
    assert "s3cret-value" not in repr(settings)
    assert isinstance(make_store(settings, _no_embedder), Neo4jStore)


def test_neo4j_without_a_password_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_STORE__GRAPH", "neo4j")

    with pytest.raises(ConfigurationError) as raised:
        get_settings()

    assert "COGNITION_STORE__NEO4J_PASSWORD is required when COGNITION_STORE__GRAPH=neo4j" in str(
        raised.value
    )
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("url", ["http://neo4j:pw@host:7474", "bolt://", "127.0.0.1:7687", "bolt://h:1/db x"])
def test_a_url_that_is_not_bolt_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("COGNITION_STORE__NEO4J_URL", url)

    with pytest.raises(ConfigurationError) as raised:
        get_settings()

    assert str(raised.value).startswith("COGNITION_STORE__NEO4J_URL: not a bolt:// or neo4j:// URL")
    assert "pw@" not in str(raised.value)


def _no_embedder() -> Embedder:
    raise AssertionError("the Neo4j store loads no embedder")
