"""The result cache in front of the Gemini embedder: the real google-genai client against
the local stub, the real SQLite file in the data directory, other processes sharing it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from bench.gemini_stub import GeminiStub, stub_vector
from cognition.cache import CachedEmbedder, digest
from cognition.embedding.gemini import GeminiEmbedder
from cognition.embedding.port import Embedder, Purpose, Vectors
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from tests.helpers import REPO_ROOT, CliRunner, cli_command, last_json_line, subprocess_env
from tests.integration.gemini_harness import MODEL, embedding_env, extraction_env, gemini_settings

TEXTS = [f"chunk number {n} of a book about git objects" for n in range(10)]


@pytest.fixture
def stub() -> Iterator[GeminiStub]:
    with GeminiStub() as server:
        yield server


def cached_on(stub: GeminiStub, data_dir: Path, **gemini: object) -> CachedEmbedder:
    settings = gemini_settings(stub, data_dir=data_dir, cache=True, **gemini)
    embedder = make_embedder(settings, DataPaths.of(settings))
    assert isinstance(embedder, CachedEmbedder) and isinstance(embedder.inner, GeminiEmbedder)
    return embedder


async def embed_once(embedder: Embedder, texts: list[str], purpose: Purpose = "document") -> Vectors:
    try:
        return await embedder.embed(texts, purpose)
    finally:
        embedder.close()
        aclose = getattr(embedder, "aclose", None)
        if aclose is not None:
            await aclose()


def embedded(stub: GeminiStub) -> int:
    """Texts the stub embedded (documents and queries)."""
    return sum(stub.task_types.values())


async def test_the_same_texts_twice_are_paid_once(stub: GeminiStub, tmp_path: Path) -> None:
    first = await embed_once(cached_on(stub, tmp_path), TEXTS)
    assert stub.stats["served"] == 3 and embedded(stub) == 10  # batches of 4, 4, 2

    again = cached_on(stub, tmp_path)
    second = await embed_once(again, TEXTS)

    assert stub.stats["served"] == 3 and embedded(stub) == 10  # nothing more was sent
    assert again.hits == 10 and again.misses == 0
    assert np.array_equal(first, second) and second.dtype == np.float32
    assert (tmp_path / "cache.sqlite3").exists()


async def test_an_overlap_sends_only_the_misses_and_keeps_the_order(stub: GeminiStub, tmp_path: Path) -> None:
    await embed_once(cached_on(stub, tmp_path), TEXTS[:6])
    mixed = [TEXTS[9], TEXTS[2], TEXTS[7], TEXTS[0], TEXTS[9], TEXTS[5], TEXTS[8], TEXTS[6]]

    vectors = await embed_once(cached_on(stub, tmp_path), mixed)

    assert embedded(stub) == 6 + 4  # 9, 7, 8 and 6, each once (9 comes twice in the input)
    assert stub.stats["served"] == 2 + 1
    plain_settings = gemini_settings(stub, data_dir=tmp_path)
    uncached = make_embedder(plain_settings, DataPaths.of(plain_settings))
    assert isinstance(uncached, GeminiEmbedder)  # the setting turns the cache off
    plain = await embed_once(uncached, mixed)
    assert np.allclose(vectors, plain, atol=1e-6)
    for row, text in zip(vectors, mixed, strict=True):
        assert np.allclose(row, stub_vector(text, 16), atol=1e-6)


async def test_queries_are_cached_apart_from_documents(stub: GeminiStub, tmp_path: Path) -> None:
    await embed_once(cached_on(stub, tmp_path), TEXTS[:1])
    await embed_once(cached_on(stub, tmp_path), TEXTS[:1], "query")
    await embed_once(cached_on(stub, tmp_path), TEXTS[:1], "query")

    assert stub.task_types == {"RETRIEVAL_DOCUMENT": 1, "RETRIEVAL_QUERY": 1}


async def test_another_model_or_dimension_misses(stub: GeminiStub, tmp_path: Path) -> None:
    await embed_once(cached_on(stub, tmp_path), TEXTS[:3])
    smaller = await embed_once(cached_on(stub, tmp_path, dimensions=8), TEXTS[:3])
    await embed_once(cached_on(stub, tmp_path, embedding_model="gemini-embedding-002"), TEXTS[:3])

    assert embedded(stub) == 9
    assert smaller.shape == (3, 8)
    again = cached_on(stub, tmp_path, dimensions=8)
    assert again.model_id == f"gemini/{MODEL}@8" and again.dimensions == 8
    await embed_once(again, TEXTS[:3])
    assert embedded(stub) == 9 and again.hits == 3


async def test_a_corrupt_entry_is_a_miss_and_is_repaired(stub: GeminiStub, tmp_path: Path) -> None:
    await embed_once(cached_on(stub, tmp_path), TEXTS[:4])
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        db.execute("UPDATE results SET value = ? WHERE digest = ?", (b"\x00\x01garbage", digest(TEXTS[1])))
        nan = np.full(16, np.nan, dtype="<f4").tobytes()
        db.execute("UPDATE results SET value = ? WHERE digest = ?", (nan, digest(TEXTS[2])))
    db.close()

    repaired = await embed_once(cached_on(stub, tmp_path), TEXTS[:4])
    assert embedded(stub) == 4 + 2  # the two damaged entries, sent again
    assert np.allclose(repaired[1], stub_vector(TEXTS[1], 16), atol=1e-6)
    assert np.allclose(repaired[2], stub_vector(TEXTS[2], 16), atol=1e-6)

    await embed_once(cached_on(stub, tmp_path), TEXTS[:4])
    assert embedded(stub) == 6  # overwritten: hits now


async def test_a_damaged_cache_file_only_costs_the_calls(stub: GeminiStub, tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").write_bytes(b"this is not a database" * 100)

    vectors = await embed_once(cached_on(stub, tmp_path), TEXTS[:2])

    assert vectors.shape == (2, 16) and embedded(stub) == 2


_EMBED_SCRIPT = """
import asyncio, json, sys
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import Settings

async def main() -> None:
    settings = Settings()
    embedder = make_embedder(settings, DataPaths.of(settings))
    vectors = await embedder.embed(json.loads(sys.argv[1]))
    embedder.close()
    await embedder.aclose()
    print("RESULT " + json.dumps({"hits": embedder.hits, "rows": vectors.tolist()}))

asyncio.run(main())
"""


def embed_in_subprocess(stub: GeminiStub, data_dir: Path, texts: list[str]) -> subprocess.Popen[str]:
    env = subprocess_env(data_dir, **embedding_env(stub, COGNITION_GEMINI__BATCH_SIZE="4"))
    return subprocess.Popen(
        [sys.executable, "-c", _EMBED_SCRIPT, json.dumps(texts)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result_of(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]
    found: dict[str, object] = json.loads(out.split("RESULT ", 1)[1])
    return found


def test_processes_sharing_a_data_directory_share_the_cache(stub: GeminiStub, tmp_path: Path) -> None:
    first = result_of(embed_in_subprocess(stub, tmp_path, TEXTS))
    assert first["hits"] == 0 and embedded(stub) == 10

    children = [embed_in_subprocess(stub, tmp_path, TEXTS) for _ in range(2)]  # at the same time
    results = [result_of(child) for child in children]

    assert embedded(stub) == 10 and stub.stats["served"] == 3
    assert [r["hits"] for r in results] == [10, 10]
    assert all(r["rows"] == first["rows"] for r in results)


def test_a_book_imported_again_elsewhere_pays_for_no_chunk(
    stub: GeminiStub, tmp_path: Path, excerpts: dict[str, Path], run_cli: CliRunner
) -> None:
    env = embedding_env(stub)
    pdf = excerpts["git_objects"]
    first = run_cli("import", str(pdf), "--dataset", "objects-a", "--json", data_dir=tmp_path, **env)
    assert first.returncode == 0, first.stderr[-3000:]
    chunks = last_json_line(first.stdout)["chunks"]
    paid = embedded(stub)
    assert isinstance(chunks, int) and chunks > 0 and paid >= chunks

    second = run_cli("import", str(pdf), "--dataset", "objects-b", "--json", data_dir=tmp_path, **env)
    assert second.returncode == 0, second.stderr[-3000:]
    again = last_json_line(second.stdout)
    assert (again["added"], again["chunks"]) == (1, chunks)  # the same book, a dataset of its own
    assert embedded(stub) == paid  # every chunk's vector came from the cache

    for _ in range(2):
        found = run_cli("search", "how does git store a blob", "-d", "objects-b", data_dir=tmp_path, **env)
        assert found.returncode == 0, found.stderr[-3000:]
    assert stub.task_types["RETRIEVAL_QUERY"] == 1  # the repeated query was free


def cached_rows(data_dir: Path) -> int:
    path = data_dir / "cache.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not there yet
            return 0


def test_an_import_killed_midway_pays_for_no_chunk_twice(
    stub: GeminiStub, tmp_path: Path, excerpts: dict[str, Path], run_cli: CliRunner
) -> None:
    env = embedding_env(stub, COGNITION_GEMINI__BATCH_SIZE="2")
    # The first run's governor admits two calls an hour: it stops before its third batch.
    stalled = {
        "COGNITION_GEMINI__EMBEDDING_QUOTA__REQUESTS_PER_MINUTE": "2",
        "COGNITION_GEMINI__EMBEDDING_QUOTA__WINDOW_SECONDS": "3600",
    }
    pdf = excerpts["git_objects"]
    args = ("import", str(pdf), "--dataset", "objects", "--json")
    child = subprocess.Popen(
        cli_command(*args),
        cwd=REPO_ROOT,
        env=subprocess_env(tmp_path, **env, **stalled),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):  # up to 120 s
            if cached_rows(tmp_path) >= 4 or child.poll() is not None:
                break
            time.sleep(0.1)
        assert child.poll() is None, child.communicate()[1][-3000:]
        assert (embedded(stub), cached_rows(tmp_path)) == (4, 4)
    finally:
        child.kill()
        child.wait(60)

    resumed = run_cli(*args, data_dir=tmp_path, **env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = last_json_line(resumed.stdout)
    assert summary["added"] == 1
    assert embedded(stub) == summary["chunks"]  # every chunk paid for exactly once


GRAPH_ANSWER = json.dumps(
    {
        "entities": [
            {"name": "Git", "type": "technology", "description": "A version control system."},
            {"name": "blob", "type": "concept", "description": "A file's content."},
        ],
        "relations": [{"source": "Git", "target": "blob", "type": "stores"}],
    }
)


def test_a_book_extracted_by_gemini_again_elsewhere_pays_for_no_chunk(
    tmp_path: Path, excerpts: dict[str, Path], run_cli: CliRunner
) -> None:
    with GeminiStub(answer=GRAPH_ANSWER) as stub:
        env = extraction_env(stub)
        pdf = str(excerpts["git_objects"])
        first = run_cli("import", pdf, "--dataset", "gem-a", "--json", data_dir=tmp_path, **env)
        assert first.returncode == 0, first.stderr[-3000:]
        chunks = last_json_line(first.stdout)["chunks"]
        assert stub.stats["served"] == chunks  # one generateContent call per chunk

        second = run_cli("import", pdf, "--dataset", "gem-b", "--json", data_dir=tmp_path, **env)
        assert second.returncode == 0, second.stderr[-3000:]
        described = run_cli("describe", "gem-b", "--json", data_dir=tmp_path, **env)

    assert last_json_line(second.stdout)["added"] == 1
    assert stub.stats["served"] == chunks  # every chunk's graph came from the cache
    assert json.loads(described.stdout)["stats"]["entities"] == 2  # the stub's two, as stored
