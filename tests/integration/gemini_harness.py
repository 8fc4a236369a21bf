"""Shared pieces of the Gemini tests: settings that point the real client at the stub,
and the stub's quota seen as the governor's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.gemini_stub import GeminiStub, quota_error
from cognition.settings import Settings

MODEL = "gemini-embedding-001"


def gemini_settings(
    stub: GeminiStub,
    redis_url: str | None = None,
    quota: dict[str, Any] | None = None,
    data_dir: Path | None = None,
    **gemini: Any,
) -> Settings:
    """Settings of the gemini provider on ``stub`` (the governor's quota is the stub's
    unless ``quota`` says otherwise), sharing ``redis_url`` when one is given."""
    window = {
        "requests_per_minute": stub.quota.requests_per_window,
        "tokens_per_minute": stub.quota.tokens_per_window,
        "requests_per_day": stub.quota.requests_per_day,
        "window_seconds": stub.quota.window_seconds,
        "max_concurrency": 4,
    }
    return Settings(
        data_dir=data_dir or Path("./.cognition"),
        embedding={"provider": "gemini"},
        gemini={
            "api_key": "stub-key",
            "base_url": stub.url,
            "dimensions": 16,
            "batch_size": 4,
            "embedding_model": MODEL,
            "embedding_quota": {**window, **(quota or {})},
            "cache": False,  # these tests count the provider's own calls; the cache's tests turn it on
            "query_share": 0.0,  # bulk may fill the stub's whole quota; the query lane's tests turn it on
            **gemini,
        },
        queue={"redis_url": redis_url, "name": f"test-{uuid.uuid4().hex}"},
    )


class StormStub(GeminiStub):
    """The stub, refusing every model request with a per-minute 429 (``retryDelay``
    ``storm_delay``) while its clock is before ``storm_until``: a storm of a stub-clock
    duration, which a test ends by advancing the clock."""

    storm_until = 0.0
    storm_delay = 0.05

    def _admit(self, model: str, key: str, tokens: int, now: float) -> web.Response | None:
        if now < self.storm_until:
            return quota_error(model, "minute", self.quota.requests_per_window, self.storm_delay)
        return super()._admit(model, key, tokens, now)


def embedding_env(stub: GeminiStub, **extra: str) -> dict[str, str]:
    """``COGNITION_*`` variables of a child process that embeds with Gemini on ``stub``."""
    return {
        "COGNITION_EMBEDDING__PROVIDER": "gemini",
        "COGNITION_GEMINI__API_KEY": "stub-key",
        "COGNITION_GEMINI__BASE_URL": stub.url,
        "COGNITION_GEMINI__DIMENSIONS": "16",
        "COGNITION_GEMINI__QUERY_SHARE": "0",  # as in gemini_settings: bulk may fill the whole quota
        **extra,
    }


def extraction_env(stub: GeminiStub, **extra: str) -> dict[str, str]:
    """``COGNITION_*`` variables of a child process that extracts with Gemini on ``stub``
    (a quota the stub's default never reaches)."""
    return {
        "COGNITION_EXTRACTION__EXTRACTOR": "gemini",
        "COGNITION_GEMINI__API_KEY": "stub-key",
        "COGNITION_GEMINI__BASE_URL": stub.url,
        "COGNITION_GEMINI__EXTRACTION_QUOTA__REQUESTS_PER_MINUTE": "1000",
        "COGNITION_GEMINI__EXTRACTION_QUOTA__TOKENS_PER_MINUTE": "1000000",
        **extra,
    }


# The extractor's scripted answers: a good graph, and three ways an answer goes wrong.
GOOD = {
    "entities": [
        {"name": "Git", "type": "technology", "description": "A version control system."},
        {"name": "Ada Lovelace", "type": "person", "description": "A mathematician."},
        {"name": "repositories", "type": "concept", "description": "Where history is kept."},
        {"name": "git commit", "type": "code", "description": "Records a change."},
        {"name": "the Library", "type": "something new", "description": "A place of books."},
    ],
    "relations": [
        {"source": "Ada Lovelace", "target": "Git", "type": "Wrote About"},
        {"source": "Git", "target": "Repositories", "type": "storesIn"},
        {"source": "git commit", "target": "repository", "type": "has_chunk"},
        {"source": "Git", "target": "GitHub", "type": "hosted_on"},
    ],
}
GOOD_TEXT = "Ada Lovelace wrote about Git. Git keeps repositories; git commit records a change."
ANSWERS = {
    "GOOD": json.dumps(GOOD),
    "MALFORMED": "Sure! Here are the entities: Git, Ada Lovelace.",
    "TRUNCATED": json.dumps(GOOD)[:90],
    "OFFSCHEMA": json.dumps({"entities": [{"name": 42, "type": "code"}], "relations": []}),
}
