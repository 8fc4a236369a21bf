"""Typed enqueue helpers for clients (the CLI, later the API): submit, then follow."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from arq import ArqRedis
from redis.exceptions import RedisError

from cognition.ledger import TERMINAL, Caps, DocumentRecord, open_ledger
from cognition.paths import import_roots
from cognition.settings import Settings
from ingest.jobs import Accepted, Conflict, Rejected, Submission, Submitter
from ingest.targets import resolve_targets
from ingest.web.spec import CrawlSpec
from workers.queue import UNREACHABLE, ArqQueue, QueueUnreachable, connect


@dataclass
class QueuedImport:
    """What ``cognition import --queue`` submitted, and what became of it."""

    dataset: str
    submissions: list[Submission] = field(default_factory=list)
    final: dict[str, DocumentRecord] = field(default_factory=dict)  # document id -> row
    running_crawls: list[str] = field(default_factory=list)  # job ids still live

    def on_their_way(self) -> list[Accepted | Conflict]:
        """Submissions accepted now, or found queued or running already."""
        return [
            s
            for s in self.submissions
            if isinstance(s, Accepted) or (isinstance(s, Conflict) and s.reason == "in_progress")
        ]

    def followed(self) -> list[tuple[str, str]]:
        """(dataset, document id) of the documents on their way."""
        return [(s.dataset, s.doc_id) for s in self.on_their_way() if s.doc_id]

    def crawls(self) -> list[str]:
        """Job ids of the crawls on their way (a crawl's pages are known only once it runs)."""
        return [s.job_id for s in self.on_their_way() if not s.doc_id]

    def to_json(self) -> dict[str, object]:
        states = [r.state for r in self.final.values()]
        return {
            "dataset": self.dataset,
            "accepted": sum(isinstance(s, Accepted) for s in self.submissions),
            "conflicts": [s.to_json() for s in self.submissions if isinstance(s, Conflict)],
            "rejected": [s.to_json() for s in self.submissions if isinstance(s, Rejected)],
            "stored": states.count("stored"),
            "failed": [
                {"path": r.source, "reason": r.error} for r in self.final.values() if r.state == "failed"
            ],
            "needs_ocr": [r.source for r in self.final.values() if r.state == "needs_ocr"],
            "pending": len(self.followed()) - sum(s in TERMINAL for s in states),
            "crawls_running": len(self.running_crawls),
        }


async def submit_paths(
    settings: Settings, paths: Sequence[Path], dataset: str | None, caps: Caps | None = None
) -> QueuedImport:
    """Submit files, folders, or one manifest's sources (files and crawls) to the queue;
    ``caps``: each file job's own spending caps."""
    targets = resolve_targets(paths, dataset)
    async with _submitter(settings) as submitter:
        result = QueuedImport(dataset=targets.dataset)
        for path, kind in targets.files:
            result.submissions.append(await submitter.submit_file(targets.dataset, path, kind, caps))
        for spec in targets.crawls:
            result.submissions.append(await submitter.submit_crawl(targets.dataset, spec))
        return result


async def submit_crawl(settings: Settings, spec: CrawlSpec, dataset: str) -> QueuedImport:
    async with _submitter(settings) as submitter:
        return QueuedImport(dataset=dataset, submissions=[await submitter.submit_crawl(dataset, spec)])


@asynccontextmanager
async def _submitter(settings: Settings) -> AsyncIterator[Submitter]:
    async with _client(settings) as redis:
        yield Submitter(open_ledger(settings), ArqQueue(redis, settings.queue), import_roots(settings))


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[ArqRedis]:
    """A client's connection; Redis failing under it (gone, restarting) is ``QueueUnreachable``."""
    redis = await connect(settings.queue)
    try:
        yield redis
    except (RedisError, ConnectionError, TimeoutError) as exc:
        raise QueueUnreachable(settings.queue.url, exc) from None
    finally:
        with contextlib.suppress(*UNREACHABLE):
            await redis.aclose()


async def follow(
    settings: Settings,
    queued: QueuedImport,
    on_change: Callable[[dict[str, DocumentRecord]], None] | None = None,
    timeout: float | None = None,
) -> QueuedImport:
    """Watch the ledger until every followed document is stored, failed or needs OCR, and
    the queue until every followed crawl has ended.

    Cancelling this (Ctrl-C) stops watching; the workers go on.
    """
    ledger, keys = open_ledger(settings), queued.followed()
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, DocumentRecord] = {}
    async with _client(settings) as redis:
        queue = ArqQueue(redis, settings.queue)
        while True:
            rows = {doc_id: ledger.get(dataset, doc_id) for dataset, doc_id in keys}
            current = {doc_id: row for doc_id, row in rows.items() if row is not None}
            if on_change is not None and _changed(seen, current):
                on_change(current)
            seen = queued.final = current
            queued.running_crawls = [job for job in queued.crawls() if await queue.is_live(job)]
            finished = len(current) == len(keys) and all(r.state in TERMINAL for r in current.values())
            if finished and not queued.running_crawls:
                return queued
            if deadline is not None and time.monotonic() > deadline:
                return queued
            await asyncio.sleep(settings.queue.poll_seconds)


def _changed(before: dict[str, DocumentRecord], after: dict[str, DocumentRecord]) -> bool:
    return {k: v.state for k, v in before.items()} != {k: v.state for k, v in after.items()}
