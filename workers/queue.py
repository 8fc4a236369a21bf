"""The job queue on Arq: JSON jobs under deterministic ids."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix

from cognition.settings import QueueSettings


def serialize(value: dict[str, Any]) -> bytes:
    """Jobs are JSON, never pickle: a queue shared by many hosts must not execute its data."""
    return json.dumps(value, separators=(",", ":")).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def redis_settings(queue: QueueSettings) -> RedisSettings:
    settings = RedisSettings.from_dsn(queue.redis_url)
    settings.conn_retries = 30  # a restarting Redis is waited for (about a minute), not fatal
    settings.conn_retry_delay = 2
    return settings


def redacted(url: str) -> str:
    """A Redis URL fit for logs: no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def connect(queue: QueueSettings) -> ArqRedis:
    return await create_pool(
        redis_settings(queue),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue.name,
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
