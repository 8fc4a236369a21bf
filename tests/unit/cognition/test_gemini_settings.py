"""The gemini settings: chosen by environment, the key kept secret, refused when missing."""

from __future__ import annotations

import numpy as np
import pytest

from cognition.embedding.gemini import GeminiEmbedder, estimate_tokens, make_client
from cognition.errors import ConfigurationError
from cognition.governor import Governor, MemoryBackend, Quota
from cognition.settings import GeminiSettings, Settings


def test_the_provider_and_quotas_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_EMBEDDING__PROVIDER", "gemini")
    monkeypatch.setenv("COGNITION_GEMINI__API_KEY", "a-real-looking-key")
    monkeypatch.setenv("COGNITION_GEMINI__EMBEDDING_QUOTA__REQUESTS_PER_MINUTE", "3000")
    settings = Settings()
    assert settings.embedding.provider == "gemini"
    assert settings.gemini.embedding_quota.requests_per_minute == 3000
    assert "a-real-looking-key" not in repr(settings) and "a-real-looking-key" not in str(settings.gemini)


def test_local_stays_the_default_and_needs_no_key() -> None:
    settings = Settings()
    assert settings.embedding.provider == "local" and settings.gemini.api_key is None


def test_a_blank_key_is_refused_with_the_variable_to_set() -> None:
    with pytest.raises(ConfigurationError, match="COGNITION_GEMINI__API_KEY"):
        make_client(GeminiSettings(api_key="  "))


async def test_no_texts_make_no_call() -> None:
    settings = GeminiSettings(api_key="k", base_url="http://127.0.0.1:9", dimensions=8)
    governor = Governor(MemoryBackend(), Quota(1, 1, 1, 1), "m", "f")
    embedder = GeminiEmbedder(settings, governor)
    try:
        vectors = await embedder.embed([])
    finally:
        await embedder.aclose()
    assert vectors.shape == (0, 8) and vectors.dtype == np.float32 and governor.stats["calls"] == 0


def test_the_token_estimate_is_four_characters_a_token() -> None:
    assert estimate_tokens(["x" * 400, "", "abc"]) == 100 + 1 + 1
