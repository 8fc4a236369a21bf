"""Building a governor from the settings: in Redis when the queue has one (every worker
shares the quota), in this process otherwise (the embedded default)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cognition.errors import ConfigurationError
from cognition.governor.governor import Governor
from cognition.governor.memory import MemoryBackend
from cognition.governor.port import Backend, Quota, fingerprint
from cognition.settings import ModelQuotaSettings, Settings


def quota_of(settings: ModelQuotaSettings, query_share: float = 0.0) -> Quota:
    return Quota(
        requests_per_minute=settings.requests_per_minute,
        tokens_per_minute=settings.tokens_per_minute,
        requests_per_day=settings.requests_per_day,
        max_concurrency=settings.max_concurrency,
        window_seconds=settings.window_seconds,
        query_share=query_share,
    )


def open_backend(settings: Settings) -> Backend:
    redis_url = settings.queue.redis_url
    if redis_url is None:
        return MemoryBackend()
    import redis.asyncio  # only a shared governor needs it

    from cognition.governor.redis_store import RedisBackend

    tls = {"ssl_check_hostname": True} if redis_url.startswith("rediss://") else {}
    try:
        client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, **tls)
    except ValueError as exc:  # redis-py's message never quotes the URL (or its password)
        raise ConfigurationError(f"COGNITION_QUEUE__REDIS_URL: {exc}") from None
    return RedisBackend(client, namespace=f"{settings.queue.name}:governor")


def open_governor(
    settings: Settings,
    model: str,
    quota: ModelQuotaSettings,
    secret: str,
    clock: Callable[[], float] = time.time,
    query_share: float = 0.0,
) -> Governor:
    """The governor of ``model`` called with the API key ``secret`` (only its fingerprint is
    kept), keeping ``query_share`` of its quotas for the query lane (the embedding model's:
    no query calls the extraction model, so its whole quota is the import's)."""
    return Governor(
        open_backend(settings),
        quota_of(quota, query_share),
        model,
        fingerprint(secret),
        max_pacing=settings.gemini.max_pacing,
        clock=clock,
    )
