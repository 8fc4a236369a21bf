"""What the app builds once in its lifespan and every route shares: the runtime, the key
store, the rate limiter, and where submissions go (the Arq queue, or this process)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from cognition.keys import KeyStore, open_keys, open_rate_limiter
from cognition.keys.rate import Limiter
from cognition.paths import import_roots
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.audit_jobs import PeriodicAudits
from ingest.inline import InlineQueue, InlineRunner
from ingest.jobs import JobQueue, Submitter


@dataclass
class Services:
    settings: Settings
    runtime: Runtime
    keys: KeyStore
    limiter: Limiter
    queue: JobQueue
    local_token: str | None = None  # the `cognition` CLI's token on this host (see api.local)
    runner: InlineRunner | None = None  # runs jobs here when there is no Redis
    redis: Any = None  # the queue's Redis client (arq's, made in workers.queue), or None
    owns_runtime: bool = True
    closers: list[object] = field(default_factory=list)

    @property
    def inline(self) -> bool:
        return self.runner is not None

    def submitter(self) -> Submitter:
        return Submitter(self.runtime.ledger, self.queue, import_roots(self.settings))

    async def redis_ok(self) -> bool | None:
        """Whether Redis answers (None: no Redis configured)."""
        if self.redis is None:
            return None
        try:
            await self.redis.ping()
        except Exception:
            return False
        return True


@contextlib.asynccontextmanager
async def services(
    settings: Settings, runtime: Runtime | None = None, local_token: str | None = None
) -> AsyncIterator[Services]:
    """Build the app's services; without Redis, start the in-process job runner. A runtime
    passed in (tests, a process that has one) is used and not closed."""
    own = runtime is None
    built = runtime or Runtime.build(settings)
    redis: Any = None
    queue: JobQueue
    runner = None
    if settings.queue.redis_url is not None:
        from workers.queue import ArqQueue, connect

        redis = await connect(settings.queue)
        queue = ArqQueue(redis, settings.queue)
    else:
        inline = InlineQueue(built.ledger)
        queue, runner = inline, InlineRunner(built, inline)
    limiter = open_rate_limiter(settings, settings.queue.redis_url)
    found = Services(settings, built, open_keys(settings), limiter, queue, local_token, runner, redis, own)
    periodic = None
    if runner is not None:
        runner.start()
        if settings.audit.every_seconds > 0:  # with Redis, the workers' cron does it
            periodic = PeriodicAudits(found.submitter(), built.ledger, settings.audit.every_seconds)
            periodic.start()
    try:
        yield found
    finally:
        if periodic is not None:
            await periodic.stop()
        if runner is not None:
            await runner.stop()
        await limiter.close()
        if redis is not None:
            await redis.aclose()
        if own:
            await built.close()
