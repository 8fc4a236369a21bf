"""The Gemini embedder: ``batchEmbedContents`` through the real ``google-genai`` client,
every call admitted by the rate governor.

Documents are embedded with the task type ``RETRIEVAL_DOCUMENT``, queries with
``RETRIEVAL_QUERY``, at the output dimension of the settings; vectors below the model's
full size are not unit length, so they are normalised here. The client's retries are off
(``attempts=1``: it would otherwise retry 429s and 5xx, and with aiohttp installed also
connection errors, behind the governor's back). The token estimate reserved per call is
about four characters a token: the embeddings answer reports no usage to reconcile with.
Query embeddings go through the governor's query lane: they may use the share of the quota
(``gemini.query_share``) that document embeddings cannot take.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence

import numpy as np
from google import genai
from google.genai import types

from cognition.budget import paid
from cognition.embedding.port import Purpose, Vectors
from cognition.errors import ConfigurationError
from cognition.governor import Governor, ProviderUnavailable
from cognition.governor.port import Lane
from cognition.settings import GeminiSettings, Settings

_TASK = {"document": "RETRIEVAL_DOCUMENT", "query": "RETRIEVAL_QUERY"}


def estimate_tokens(texts: Sequence[str]) -> int:
    """Input tokens of ``texts``, about four characters each (reserved, never billed)."""
    return sum(max(1, math.ceil(len(text) / 4)) for text in texts)


def embedding_model_id(settings: GeminiSettings) -> str:
    """The embedder's ``model_id`` (what a dataset records, and the result cache's key)."""
    return f"gemini/{settings.embedding_model}@{settings.dimensions}"


def api_key(settings: GeminiSettings) -> str:
    if settings.api_key is None or not settings.api_key.get_secret_value().strip():
        raise ConfigurationError(
            "the gemini provider needs an API key: set COGNITION_GEMINI__API_KEY (or choose "
            "COGNITION_EMBEDDING__PROVIDER=local)"
        )
    return settings.api_key.get_secret_value()


def make_client(settings: GeminiSettings) -> genai.Client:
    """A client that never retries on its own and talks to ``base_url`` when one is set.

    ``requests`` is imported first, wholly: the SDK reads it from ``sys.modules`` while
    building every response, and a thread importing it then (cognee's, as the store starts)
    leaves it half made, failing the call (``partially initialized module 'requests'``)."""
    importlib.import_module("requests")
    options = types.HttpOptions(
        base_url=settings.base_url,
        api_version=settings.api_version,
        timeout=int(settings.timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=api_key(settings), http_options=options)


async def count_tokens(
    settings: Settings, model: str, texts: Sequence[str], per_call: int = 50
) -> tuple[int, int]:
    """The input tokens of ``texts`` as ``model`` counts them, by the API's ``countTokens``
    (free of charge; ``cognition estimate --count api``), and the calls made: ``per_call``
    texts a call, one ``Content`` each, through a governor of the method's own quota
    (``gemini.count_quota``), never the model's ``generateContent`` quota."""
    from cognition.governor.factory import open_governor

    gemini = settings.gemini
    client = make_client(gemini)
    governor = open_governor(settings, f"{model}:countTokens", gemini.count_quota, api_key(gemini))
    total = calls = 0
    try:
        for start in range(0, len(texts), per_call):
            contents = [
                types.Content(role="user", parts=[types.Part(text=t)])
                for t in texts[start : start + per_call]
            ]

            async def call(contents: list[types.Content] = contents) -> types.CountTokensResponse:
                return await client.aio.models.count_tokens(model=model, contents=contents)

            answer = await governor.call(call, tokens=estimate_tokens(texts[start : start + per_call]))
            total, calls = total + (answer.total_tokens or 0), calls + 1
    finally:
        await client.aio.aclose()
        client.close()
        await governor.close()
    return total, calls


class GeminiEmbedder:
    """Implements ``cognition.embedding.port.Embedder`` on the Gemini API."""

    def __init__(self, settings: GeminiSettings, governor: Governor) -> None:
        self._settings = settings
        self._client = make_client(settings)
        self.governor = governor
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return embedding_model_id(self._settings)

    @property
    def dimensions(self) -> int:
        return self._settings.dimensions

    @property
    def max_batch(self) -> int:
        return self._settings.batch_size

    async def embed(
        self,
        texts: Sequence[str],
        purpose: Purpose = "document",
        progress: Callable[[float], None] | None = None,
    ) -> Vectors:
        size = self._settings.batch_size
        parts: list[Vectors] = [np.zeros((0, self.dimensions), dtype=np.float32)]
        for start in range(0, len(texts), size):
            parts.append(await self._embed_batch(texts[start : start + size], purpose))
            if progress is not None:
                progress(min(1.0, (start + size) / len(texts)))
        if progress is not None:
            progress(1.0)
        return np.vstack(parts)

    async def _embed_batch(self, texts: Sequence[str], purpose: Purpose) -> Vectors:
        config = types.EmbedContentConfig(task_type=_TASK[purpose], output_dimensionality=self.dimensions)
        model = self._settings.embedding_model
        contents = [types.Content(parts=[types.Part(text=text)]) for text in texts]

        async def call() -> types.EmbedContentResponse:
            return await self._client.aio.models.embed_content(model=model, contents=contents, config=config)

        lane: Lane = "query" if purpose == "query" else "bulk"  # a search may use the quota's query share
        tokens = estimate_tokens(texts)  # what is recorded as spent too: the answer reports no usage
        response = await paid(model, tokens, lambda: self.governor.call(call, tokens=tokens, lane=lane))
        self.texts_embedded += len(texts)
        return self._vectors(response, len(texts))

    def _vectors(self, response: types.EmbedContentResponse, count: int) -> Vectors:
        rows = [e.values or [] for e in response.embeddings or []]
        if len(rows) != count or any(len(row) != self.dimensions for row in rows):
            raise ProviderUnavailable(
                f"{self._settings.embedding_model} answered {len(rows)} vectors for {count} texts "
                f"(expected {self.dimensions} dimensions each)"
            )
        vectors = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)

    async def aclose(self) -> None:
        """Close the client's HTTP sessions and the governor's Redis client."""
        await self._client.aio.aclose()
        await self.governor.close()

    def close(self) -> None:
        """The synchronous part of closing (the port's ``close``); ``aclose`` does the rest."""
        self._client.close()
