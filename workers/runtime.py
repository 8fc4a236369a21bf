"""What a worker process builds once at startup and closes at shutdown: the core runtime
(with the Redis lease lock in front of the file gate), the queue."""

from __future__ import annotations

from dataclasses import dataclass

from arq import ArqRedis

from cognition.gate import FileGate, Gates
from cognition.paths import DataPaths
from cognition.runtime import Runtime
from cognition.settings import Settings
from workers.leases import RedisGate
from workers.queue import ArqQueue


@dataclass
class WorkerRuntime:
    runtime: Runtime
    queue: ArqQueue

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @classmethod
    def build(cls, settings: Settings, redis: ArqRedis) -> WorkerRuntime:
        """Writes are gated by a Redis lease lock (workers on any host) and, under it, the
        data directory's file lock (any process on this host, in-process imports included)."""
        gate = Gates(
            [
                RedisGate(redis, settings.queue.url, settings.queue.lock_seconds),
                FileGate(DataPaths.of(settings).locks),
            ]
        )
        runtime = Runtime.build(settings, gate=gate)
        return cls(runtime, ArqQueue(redis, settings.queue))

    async def close(self) -> None:
        await self.runtime.close()
