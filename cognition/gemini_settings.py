"""The ``gemini`` section of the settings (``cognition.settings.Settings.gemini``): the
model provider's endpoint, models, quotas, prices and circuit breaker. Kept apart from
``settings.py`` for size only; ``cognition.settings`` re-exports every name."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ModelQuotaSettings(BaseModel):
    """One model's quotas for one API key, as the provider's console shows them. The rate
    governor admits every call against all of them at once (shared through Redis when the
    queue has one). The defaults are Gemini's free tier for embeddings: raise them to your
    tier's; a quota set above the real one only turns pacing into 429s."""

    requests_per_minute: int = Field(default=100, ge=1)
    tokens_per_minute: int = Field(default=30_000, ge=1)  # input tokens
    requests_per_day: int = Field(default=1_000, ge=1)  # reset at midnight, Pacific time
    max_concurrency: int = Field(default=4, ge=1)  # calls in flight at most (adapts down on 429s)
    window_seconds: float = Field(default=60.0, gt=0)  # the provider's minute (tests use shorter)


class ModelPrice(BaseModel):
    """What one model costs, in US dollars per million tokens (input: the prompt or the
    embedded text; output: the answer, thinking tokens included)."""

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(default=0.0, ge=0)


# The paid tier's list prices, as ai.google.dev/gemini-api/docs/pricing published them in
# 2025 (prompts up to 200k tokens). EDITABLE, and worth checking: prices change, a contract
# may differ. Override the whole table with COGNITION_GEMINI__PRICES as JSON, e.g.
# '{"gemini-2.5-flash": {"input_per_million": 0.3, "output_per_million": 2.5}}'.
DEFAULT_PRICES = {
    "gemini-embedding-001": ModelPrice(input_per_million=0.15),
    "gemini-2.5-flash": ModelPrice(input_per_million=0.30, output_per_million=2.50),
    "gemini-2.5-flash-lite": ModelPrice(input_per_million=0.10, output_per_million=0.40),
    "gemini-2.5-pro": ModelPrice(input_per_million=1.25, output_per_million=10.00),
}


class GeminiSettings(BaseModel):
    """The Gemini API (``google-genai``), when ``embedding.provider`` or
    ``extraction.extractor`` is ``gemini``.

    The client's own retries are always off: the rate governor is the only place that
    retries, and only after the server's ``retryDelay``."""

    api_key: SecretStr | None = None  # COGNITION_GEMINI__API_KEY; required by the gemini provider
    base_url: str | None = None  # another endpoint (a proxy, the test stub); None: Google's
    api_version: str = "v1beta"
    embedding_model: str = "gemini-embedding-001"
    # Output dimension of the embeddings (gemini-embedding-001: 128 to 3072; 768, 1536 and
    # 3072 are the recommended ones). Part of the model id a dataset records.
    dimensions: int = Field(default=768, ge=1, le=3072)
    batch_size: int = Field(default=100, ge=1, le=100)  # texts per batchEmbedContents call (API max 100)
    timeout_seconds: float = Field(default=60.0, gt=0)  # per HTTP call
    max_pacing: int = Field(default=5, ge=0)  # per-minute 429s one call waits out before giving up
    embedding_quota: ModelQuotaSettings = ModelQuotaSettings()
    # The share of the embedding model's quotas (requests and tokens a minute, requests a day,
    # calls in flight) kept for queries: an import's embeddings are admitted only within the
    # rest, so a search is answered at once while an import saturates the quota. 0: no lane.
    query_share: float = Field(default=0.1, ge=0.0, lt=1.0)
    # The graph extractor's model (one generateContent call per chunk, structured JSON out).
    extraction_model: str = "gemini-2.5-flash"
    # The longest answer a chunk may get; a longer one is cut, its JSON truncated, and that
    # chunk keeps no entities (counted and logged), so keep it above what 24 entities need.
    extraction_max_output_tokens: int = Field(default=4096, ge=256)
    # The extraction model's quotas (defaults: gemini-2.5-flash's free tier).
    extraction_quota: ModelQuotaSettings = ModelQuotaSettings(
        requests_per_minute=10, tokens_per_minute=250_000, requests_per_day=250
    )
    # Keep every paid result (embeddings of chunks and queries, extractions) in
    # <data_dir>/cache.sqlite3 by chunk hash, model and prompt version: a resumed, repeated or
    # killed import never pays twice for the same chunk. Off: every text goes to the API.
    cache: bool = True
    # US dollars per million tokens, by model (see DEFAULT_PRICES: editable list prices).
    # A money cap on a model without a price is refused, never treated as free.
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    # The answer tokens one extraction call is expected to take, before a dataset has any
    # recorded: budget checks reserve it and `cognition estimate` uses it (an estimate, not a
    # count: the answer does not exist yet). Recorded spend replaces it once there is some.
    expected_output_tokens: int = Field(default=1000, ge=0)
    # The countTokens method's own quota (`cognition estimate --count api`; free of charge).
    count_quota: ModelQuotaSettings = ModelQuotaSettings(
        requests_per_minute=3000, tokens_per_minute=100_000_000, requests_per_day=1_000_000
    )
    # The circuit breaker per model and key (cognition/governor/breaker.py): this many
    # failures (5xx, network errors, per-minute 429s a call meets again after waiting the
    # server's delay) since the last success, each within breaker_window_seconds of the one
    # before, open it; no call is made for breaker_open_seconds, doubled after each failed
    # probe up to breaker_max_open_seconds; then one probe call decides.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_window_seconds: float = Field(default=120.0, gt=0)
    breaker_open_seconds: float = Field(default=60.0, gt=0)
    breaker_max_open_seconds: float = Field(default=300.0, gt=0)
    breaker_probe_seconds: float = Field(default=120.0, gt=0)  # a probe's lease (its process may die)
