"""Leases in Redis: a running job's claim, and a dataset's write lock.

A job's lease is Arq's in-progress key, kept alive by a heartbeat thread. Arq sets it for the whole
job timeout (hours, for a big book); the heartbeat shortens it to ``lease_seconds`` and
renews it, so a worker killed mid-job (kill -9, OOM) lets its job go within one lease and
another worker takes it. Nothing stays "started" forever.

The dataset write lock is a Redis key set with NX and a TTL, renewed while held, released
only by its owner (compare-and-delete). Renewals run in a thread, so an event loop blocked by
a long synchronous call does not let a live lease lapse. Each acquisition takes a fencing number (INCR): it is
logged with the write, and a holder that lost its lock (a renewal found another owner) fails
its job with ``LockLost`` and retries, instead of finishing as if it had been alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis
from arq import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.exceptions import RedisError

from workers.queue import tls_defaults

log = logging.getLogger("cognition.workers")

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LockLost(Exception):
    """The dataset write lock expired or was taken while held (a transient failure)."""


class Heartbeat:
    """Runs ``beat`` every ``interval`` seconds in a thread of its own, with its own Redis
    connection: a lease must outlive an event loop blocked by a long synchronous call (a
    model load, a big database open), or a live job would look dead."""

    def __init__(self, url: str, interval: float, beat: Callable[[redis.Redis], bool]) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=max(1.0, interval), **tls_defaults(url))
        self._interval = interval
        self._beat = beat
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cognition-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self._beat(self._client):
                    self.lost.set()
                    return
            except (RedisError, OSError) as exc:  # Redis restarting: the key persists, retry soon
                log.warning("lease renewal failed: %s", exc)
            self._stop.wait(self._interval)


@asynccontextmanager
async def job_lease(url: str, job_id: str, seconds: float) -> AsyncIterator[None]:
    """Keep ``job_id``'s in-progress key alive for ``seconds`` at a time while the block runs."""
    key = in_progress_key_prefix + job_id
    lease_ms = int(seconds * 1000)

    def renew(client: redis.Redis) -> bool:
        if not client.pexpire(key, lease_ms):
            log.warning("the lease of %s had expired: another worker may run it too", job_id)
        return True

    with Heartbeat(url, seconds / 3, renew):
        yield


class RedisGate:
    """``cognition.gate.WriteGate`` across hosts: one writer per dataset, with a lease."""

    def __init__(self, redis: ArqRedis, url: str, seconds: float, poll: float = 0.05) -> None:
        self._redis = redis
        self._url = url
        self._ms = int(seconds * 1000)
        self._poll = poll
        self._prefix = "cognition:lock:"

    @asynccontextmanager
    async def hold(self, dataset: str) -> AsyncIterator[None]:
        key = self._prefix + dataset
        fence = int(await self._redis.incr(key + ":fence"))
        token = f"{fence}:{uuid.uuid4()}"
        while not await self._redis.set(key, token, nx=True, px=self._ms):
            await asyncio.sleep(self._poll)
        log.info("write lock on %s taken (fence %d)", dataset, fence)

        def renew(client: redis.Redis) -> bool:
            return bool(client.eval(_RENEW, 1, key, token, str(self._ms)))

        heartbeat = Heartbeat(self._url, self._ms / 3000, renew)
        try:
            with heartbeat:
                yield
        finally:  # the heartbeat has stopped: it cannot renew what is released now
            with contextlib.suppress(RedisError, OSError):
                await self._redis.eval(_RELEASE, 1, key, token)  # type: ignore[misc]
        if heartbeat.lost.is_set():
            raise LockLost(f"the write lock on {dataset} was lost while writing (fence {fence})")
