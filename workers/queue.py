"""The job queue on Arq: JSON jobs under deterministic ids, and the connection to its Redis.

The Redis URL carries the credentials (``redis://user:password@host:6379/0``, percent-encoded;
``rediss://`` for TLS, the server's certificate and host name checked). They are parsed as
redis-py parses them, so Arq's pool and the lease threads connect alike, and the URL is
shown only ``redacted``.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from redis.connection import SSLConnection, parse_url
from redis.exceptions import RedisError

from cognition.errors import CognitionError, ConfigurationError
from cognition.settings import QueueSettings

# A worker waits for a restarting Redis (about a minute); a client (a person at a command)
# tries twice, a second apart, and says what is wrong.
WORKER_RETRIES, WORKER_RETRY_DELAY = 30, 2
CLIENT_RETRY_DELAY, CLIENT_CONNECT_TIMEOUT = 1.0, 2
_TLS_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname")
UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)


class QueueUnreachable(CognitionError):
    """Redis cannot be reached, or refuses the URL's credentials."""

    def __init__(self, url: str, exc: BaseException) -> None:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        password = _url_options(url).get("password")
        if password:  # no Redis error quotes it; a message never will
            reason = reason.replace(password, "***")
        super().__init__(f"the queue is not reachable at {redacted(url)}: {reason}")


def serialize(value: dict[str, Any]) -> bytes:
    """Jobs are JSON, never pickle: a queue shared by many hosts must not execute its data."""
    return json.dumps(value, separators=(",", ":")).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def redis_settings(queue: QueueSettings, *, patient: bool = True) -> RedisSettings:
    """Arq's connection settings from the URL: host, database, credentials, TLS.

    ``patient`` (workers): a restarting Redis is waited for, not fatal. Otherwise (clients)
    one attempt with a short connect timeout; ``connect`` tries once more itself."""
    found = _url_options(queue.url)
    settings = RedisSettings(
        host=found.get("host", "localhost"),
        port=found.get("port", 6379),
        unix_socket_path=found.get("path"),
        database=found.get("db", 0),
        username=found.get("username"),
        password=found.get("password"),
        **_tls(queue.url, found),
    )
    if patient:
        settings.conn_retries, settings.conn_retry_delay = WORKER_RETRIES, WORKER_RETRY_DELAY
    else:
        settings.conn_retries, settings.conn_timeout = 0, CLIENT_CONNECT_TIMEOUT
    return settings


def _url_options(url: str) -> dict[str, Any]:
    """The URL parsed as redis-py parses it (credentials percent-decoded)."""
    try:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
    except ValueError as exc:
        raise ConfigurationError(f"COGNITION_QUEUE__REDIS_URL {redacted(url)}: {exc}") from None
    return options


def _tls(url: str, found: dict[str, Any]) -> dict[str, Any]:
    """TLS for ``rediss://``: on, checked by default, with the URL's query options."""
    if found.get("connection_class") is not SSLConnection:
        return {}
    return {"ssl": True, **tls_defaults(url), **{k: found[k] for k in _TLS_OPTIONS if k in found}}


def tls_defaults(url: str) -> dict[str, Any]:
    """What a redis-py client built ``from_url`` needs to check a TLS server as Arq's pool
    does (options in the URL's query still win)."""
    return {"ssl_check_hostname": True} if url.startswith("rediss://") else {}


def redacted(url: str) -> str:
    """A Redis URL fit for logs and messages: any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a malformed Redis URL>"
    user, at, host = parts.netloc.rpartition("@")
    if ":" in user:
        user = user.split(":", 1)[0] + ":***"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, f"{user}{at}{host}", parts.path, query, parts.fragment))


async def connect(queue: QueueSettings) -> ArqRedis:
    """A client's pool (a command, later the API): two tries a second apart, then
    ``QueueUnreachable`` with the reason, so a person learns at once that Redis is not there.
    (Workers connect through ``redis_settings(patient=True)`` and wait.)"""
    settings = redis_settings(queue, patient=False)
    try:
        return await _pool(settings, queue)
    except UNREACHABLE:
        await asyncio.sleep(CLIENT_RETRY_DELAY)
    try:
        return await _pool(settings, queue)
    except UNREACHABLE as exc:
        raise QueueUnreachable(queue.url, exc) from None


async def _pool(settings: RedisSettings, queue: QueueSettings) -> ArqRedis:
    return await create_pool(
        settings, job_serializer=serialize, job_deserializer=deserialize, default_queue_name=queue.name
    )


class ArqQueue:
    """``ingest.jobs.JobQueue`` on an Arq Redis pool."""

    def __init__(self, redis: ArqRedis, queue: QueueSettings) -> None:
        self._redis = redis
        self._queue = queue

    async def enqueue(self, job_id: str, function: str, arguments: dict[str, Any]) -> bool:
        job = await self._redis.enqueue_job(
            function, _job_id=job_id, _queue_name=self._queue.name, **arguments
        )
        return job is not None

    async def is_live(self, job_id: str) -> bool:
        found = await self._redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
        return int(found) > 0

    async def forget(self, job_id: str) -> None:
        await self._redis.delete(result_key_prefix + job_id)
