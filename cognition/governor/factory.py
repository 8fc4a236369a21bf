"""Building a governor from the settings: in Redis when the queue has one (every worker
shares the quota), in this process otherwise (the embedded default)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cognition.errors import ConfigurationError
from cognition.governor.breaker import Breaker, BreakerPolicy, BreakerStore, process_store
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
    from cognition.governor.redis_store import RedisBackend

    return RedisBackend(_redis_client(redis_url), namespace=f"{settings.queue.name}:governor")


def _redis_client(redis_url: str) -> Any:
    import redis.asyncio  # only a shared governor needs it

    tls = {"ssl_check_hostname": True} if redis_url.startswith("rediss://") else {}
    try:
        return redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, **tls)
    except ValueError as exc:  # redis-py's message never quotes the URL (or its password)
        raise ConfigurationError(f"COGNITION_QUEUE__REDIS_URL: {exc}") from None


def open_breaker_store(settings: Settings) -> BreakerStore:
    """The circuits: in the queue's Redis (every process shares them), or this process's
    store for its data directory."""
    redis_url = settings.queue.redis_url
    if redis_url is None:
        return process_store(str(settings.data_dir.resolve()))
    from cognition.governor.breaker_redis import RedisBreakerStore

    return RedisBreakerStore(_redis_client(redis_url), namespace=f"{settings.queue.name}:governor")


def breaker_policy(settings: Settings) -> BreakerPolicy:
    gemini = settings.gemini
    return BreakerPolicy(
        failures=gemini.breaker_failures,
        window_seconds=gemini.breaker_window_seconds,
        open_seconds=gemini.breaker_open_seconds,
        max_open_seconds=gemini.breaker_max_open_seconds,
        probe_seconds=gemini.breaker_probe_seconds,
    )


def open_governor(
    settings: Settings,
    model: str,
    quota: ModelQuotaSettings,
    secret: str,
    clock: Callable[[], float] = time.time,
    query_share: float = 0.0,
) -> Governor:
    """The governor of ``model`` called with the API key ``secret`` (only its fingerprint is
    kept), behind its circuit breaker, keeping ``query_share`` of its quotas for the query
    lane (the embedding model's: no query calls the extraction model, so its whole quota is
    the import's)."""
    governor = Governor(
        open_backend(settings),
        quota_of(quota, query_share),
        model,
        fingerprint(secret),
        max_pacing=settings.gemini.max_pacing,
        clock=clock,
    )
    governor.breaker = Breaker(
        open_breaker_store(settings), breaker_policy(settings), model, governor.key, governor.now
    )
    return governor
