"""The result cache around a graph extractor (a real SQLite file, the real local extractor
behind a counting wrapper standing in for a paid one), and where the runtime puts it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from cognition.cache import CachedExtractor, Scope, SqliteCache, digest
from cognition.extract.local import LocalExtractor
from cognition.extract.port import ChunkGraph
from cognition.paths import DataPaths
from cognition.runtime import with_result_cache
from cognition.settings import ExtractionSettings, Settings

TEXTS = [
    "Git stores every Blob in the object database; a Tree names each Blob.",
    "The `git cat-file -p` command prints an object; Linus Torvalds wrote Git.",
    "Bash expands ${parameter:-word} before it runs a command.",
]


class PaidExtractor:
    """A stand-in for a remote extractor: the local one, counting the texts it was sent."""

    name = "paid"
    model_id = "paid/extractor-model"
    prompt_version = "prompt-3"

    def __init__(self) -> None:
        self.inner = LocalExtractor(24, 2)
        self.sent: list[str] = []
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]:
        self.sent.extend(texts)
        return await self.inner.extract(texts)


async def test_extractions_are_paid_once_and_returned_equal(tmp_path: Path) -> None:
    paid = PaidExtractor()
    cached = CachedExtractor(paid, SqliteCache(tmp_path / "cache.sqlite3"), "prompt-3")
    first = await cached.extract(TEXTS[:2])
    second = await cached.extract([TEXTS[1], TEXTS[2], TEXTS[0], TEXTS[2]])

    assert paid.sent == [TEXTS[0], TEXTS[1], TEXTS[2]]  # each text once, the misses only
    assert second[0] == first[1] and second[2] == first[0] and second[1] == second[3]
    assert second[1] is not second[3]  # each chunk gets its own graph
    assert first[0].entities and first[0].relations  # a real graph went through the cache
    assert cached.name == "paid" and (cached.hits, cached.misses) == (2, 3)  # misses: texts sent
    await cached.aclose()
    assert paid.closed  # the runtime closes a remote extractor's sessions through the wrapper


async def test_another_prompt_version_or_model_misses(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "cache.sqlite3")
    paid = PaidExtractor()
    await CachedExtractor(paid, cache, "prompt-3").extract(TEXTS[:1])
    await CachedExtractor(paid, cache, "prompt-4").extract(TEXTS[:1])
    paid.model_id = "paid/another-model"
    await CachedExtractor(paid, cache, "prompt-4").extract(TEXTS[:1])

    assert paid.sent == [TEXTS[0]] * 3


async def test_a_corrupt_extraction_is_a_miss_and_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    paid = PaidExtractor()
    cached = CachedExtractor(paid, SqliteCache(path), "prompt-3")
    expected = await cached.extract(TEXTS)
    damaged = [b"{not json", b'{"entities": [["k", "n", "planet"]], "relations": []}']
    with sqlite3.connect(path) as db:
        for text, value in zip(TEXTS, damaged, strict=False):
            db.execute("UPDATE results SET value = ? WHERE digest = ?", (value, digest(text)))
    db.close()

    assert await cached.extract(TEXTS) == expected
    assert await cached.extract(TEXTS) == expected
    assert paid.sent == [*TEXTS, TEXTS[0], TEXTS[1]]  # the two damaged ones, once more


def test_the_store_keeps_scopes_apart_and_replaces(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "cache.sqlite3")
    document = Scope("m", "embedding:document", "1")
    query = Scope("m", "embedding:query", "1")
    cache.put_many(document, {"a": b"1", "b": b"2"})
    cache.put_many(document, {"a": b"3"})

    assert cache.get_many(document, ["a", "b", "c", "a"]) == {"a": b"3", "b": b"2"}
    assert cache.get_many(query, ["a"]) == {}
    assert cache.get_many(document, [f"k{n}" for n in range(1200)]) == {}  # more than one statement


def test_only_a_paid_extractor_with_a_version_is_wrapped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    paths = DataPaths.of(settings)
    local = LocalExtractor(24, 2)
    assert with_result_cache(local, settings, paths) is local

    remote = settings.model_copy(
        update={"extraction": ExtractionSettings.model_construct(extractor="gemini")}
    )
    wrapped = with_result_cache(PaidExtractor(), remote, paths)
    assert isinstance(wrapped, CachedExtractor)
    assert wrapped.scope == Scope("paid/extractor-model", "extraction", "prompt-3")

    off = remote.model_copy(update={"gemini": remote.gemini.model_copy(update={"cache": False})})
    assert isinstance(with_result_cache(PaidExtractor(), off, paths), PaidExtractor)

    unversioned = PaidExtractor()
    unversioned.prompt_version = ""
    assert with_result_cache(unversioned, remote, paths) is unversioned


class FailingOn(PaidExtractor):
    """Fails (as a killed or refused call would) when sent ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]:
        if self.text in texts:
            raise RuntimeError("the call died")
        return await super().extract(texts)


async def test_groups_answered_before_a_failure_stay_paid_for(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "cache.sqlite3")
    with pytest.raises(RuntimeError, match="died"):
        await CachedExtractor(FailingOn(TEXTS[2]), cache, "prompt-3", write_every=2).extract(TEXTS)

    paid = PaidExtractor()
    await CachedExtractor(paid, cache, "prompt-3", write_every=2).extract(TEXTS)
    assert paid.sent == [TEXTS[2]]


async def test_an_empty_graph_is_asked_for_again(tmp_path: Path) -> None:
    """An empty graph is what a bad answer leaves: the next import asks again."""
    paid = PaidExtractor()
    cached = CachedExtractor(paid, SqliteCache(tmp_path / "cache.sqlite3"), "prompt-3")
    blank = "... --- ..."
    assert (await cached.extract([blank, TEXTS[0]]))[0] == ChunkGraph()
    await cached.extract([blank, TEXTS[0]])
    assert paid.sent == [blank, TEXTS[0], blank]
