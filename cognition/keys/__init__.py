"""API keys: grants per dataset, the key store, and per-key rate limits."""

from cognition.errors import ConfigurationError
from cognition.keys.port import (
    ALL,
    GRANT_FORM,
    RIGHTS,
    ApiKey,
    Grant,
    InvalidGrant,
    KeyStore,
    Right,
    parse_grant,
)
from cognition.keys.rate import Limiter, LimiterUnavailable, RateLimiter, RedisRateLimiter
from cognition.keys.sqlite import SqliteKeyStore
from cognition.paths import DataPaths
from cognition.settings import Settings


def open_keys(settings: Settings) -> KeyStore:
    """The key store: a table in the ledger's database (Postgres at ``ledger.url``, or the
    SQLite file in the data directory)."""
    if settings.ledger.url is not None:
        from cognition.keys.postgres import PostgresKeyStore  # psycopg only when it is used

        return PostgresKeyStore(settings.ledger.url)
    return SqliteKeyStore(DataPaths.of(settings).ledger)


def open_rate_limiter(settings: Settings, redis_url: str | None = None) -> Limiter:
    """Per-key limits from ``settings.api``: in this process, or in the Redis at
    ``redis_url`` (shared by every API process using it; ``rediss://`` checks the server's
    certificate and host name, as the queue's clients do)."""
    api = settings.api
    if redis_url is None:
        return RateLimiter.from_settings(api)
    import redis.asyncio  # only a shared limit needs it

    tls = {"ssl_check_hostname": True} if redis_url.startswith("rediss://") else {}
    try:
        client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2, **tls)
    except ValueError as exc:  # redis-py's message never quotes the URL (or its password)
        raise ConfigurationError(f"COGNITION_QUEUE__REDIS_URL: {exc}") from None
    namespace = f"{settings.queue.name}:rate"
    return RedisRateLimiter(client, api.rate_limit_per_minute, api.rate_limit_burst, namespace)


__all__ = [
    "ALL",
    "GRANT_FORM",
    "RIGHTS",
    "ApiKey",
    "Grant",
    "InvalidGrant",
    "KeyStore",
    "Limiter",
    "LimiterUnavailable",
    "RateLimiter",
    "RedisRateLimiter",
    "Right",
    "SqliteKeyStore",
    "open_keys",
    "open_rate_limiter",
    "parse_grant",
]
