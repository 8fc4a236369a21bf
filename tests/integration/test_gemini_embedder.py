"""The Gemini embedder through the real google-genai client, against the local stub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.gemini_stub import GeminiStub, stub_vector
from cognition.embedding.gemini import GeminiEmbedder
from cognition.errors import ConfigurationError
from cognition.governor import ProviderUnavailable, QuotaTerminal
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from tests.integration.gemini_harness import MODEL, gemini_settings


@pytest.fixture
def stub() -> Iterator[GeminiStub]:
    with GeminiStub() as server:
        yield server


def embedder_on(stub: GeminiStub, tmp_path: Path, **gemini: object) -> GeminiEmbedder:
    settings = gemini_settings(stub, data_dir=tmp_path, **gemini)
    embedder = make_embedder(settings, DataPaths.of(settings))
    assert isinstance(embedder, GeminiEmbedder)
    return embedder


async def test_documents_and_queries_get_unit_vectors_in_order(stub: GeminiStub, tmp_path: Path) -> None:
    embedder = embedder_on(stub, tmp_path)
    texts = [f"text number {n}" for n in range(7)]
    try:
        vectors = await embedder.embed(texts)
        query = await embedder.embed(["text number 3"], "query")
    finally:
        await embedder.aclose()

    assert vectors.shape == (7, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[3], stub_vector("text number 3", 16), atol=1e-6)
    assert np.allclose(query[0], vectors[3], atol=1e-6)
    assert stub.stats["served"] == 3  # 4 + 3 texts, then the query
    assert stub.task_types == {"RETRIEVAL_DOCUMENT": 7, "RETRIEVAL_QUERY": 1}
    assert embedder.model_id == f"gemini/{MODEL}@16" and embedder.dimensions == 16


async def test_a_503_is_seen_once_by_the_server_and_not_retried(stub: GeminiStub, tmp_path: Path) -> None:
    embedder = embedder_on(stub, tmp_path)
    stub.script("unavailable")
    try:
        with pytest.raises(ProviderUnavailable, match="503"):
            await embedder.embed(["one"])
    finally:
        await embedder.aclose()
    assert len(stub.arrivals) == 1 and stub.stats["fault_unavailable"] == 1


async def test_a_malformed_answer_is_a_provider_failure_once(stub: GeminiStub, tmp_path: Path) -> None:
    embedder = embedder_on(stub, tmp_path)
    stub.script("malformed")
    try:
        with pytest.raises(ProviderUnavailable):
            await embedder.embed(["one"])
        assert (await embedder.embed(["two"])).shape == (1, 16)  # the next call is fine
    finally:
        await embedder.aclose()
    assert len(stub.arrivals) == 2


async def test_a_refused_key_is_terminal(stub: GeminiStub, tmp_path: Path) -> None:
    embedder = embedder_on(stub, tmp_path, api_key="wrong-key")
    try:
        with pytest.raises(QuotaTerminal, match="API key not valid"):
            await embedder.embed(["one"])
    finally:
        await embedder.aclose()
    assert stub.stats["rejected_key"] == 1


def test_the_gemini_provider_without_a_key_says_which_setting(stub: GeminiStub, tmp_path: Path) -> None:
    settings = gemini_settings(stub, data_dir=tmp_path, api_key=None)
    with pytest.raises(ConfigurationError, match="COGNITION_GEMINI__API_KEY"):
        make_embedder(settings, DataPaths.of(settings))
