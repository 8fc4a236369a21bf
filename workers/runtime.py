"""What a worker process builds once at startup and closes at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from arq import ArqRedis

from cognition.gate import FileGate, Gates, WriteGate
from cognition.settings import Settings
from ingest.extract.port import GraphExtractor
from ingest.importer import Importer
from ingest.ledger import Ledger
from ingest.service import ledger_for, make_extractor, make_importer
from workers.leases import RedisGate
from workers.queue import ArqQueue


@dataclass
class WorkerRuntime:
    settings: Settings
    ledger: Ledger
    importer: Importer
    queue: ArqQueue
    gate: WriteGate
    extractor: GraphExtractor

    @classmethod
    def build(cls, settings: Settings, redis: ArqRedis) -> WorkerRuntime:
        """Writes are gated by a Redis lease lock (workers on any host) and, under it, the
        data directory's file lock (any process on this host, in-process imports included)."""
        gate = Gates(
            [
                RedisGate(redis, settings.queue.redis_url, settings.queue.lock_seconds),
                FileGate(settings.resolved_data_dir / "locks"),
            ]
        )
        importer = make_importer(settings, gate=gate)
        queue = ArqQueue(redis, settings.queue)
        return cls(settings, ledger_for(settings), importer, queue, gate, make_extractor(settings))

    async def close(self) -> None:
        await self.importer.close()
