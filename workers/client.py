"""Typed enqueue helpers for clients (the CLI, later the API): submit, then follow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cognition.settings import Settings
from ingest.jobs import TERMINAL, Accepted, Conflict, Rejected, Submission, Submitter
from ingest.ledger import DocumentRecord, Ledger
from ingest.manifest import expand_paths, load_manifest
from ingest.service import ledger_for
from workers.queue import ArqQueue, connect


@dataclass
class QueuedImport:
    """What ``cognition import --queue`` submitted, and what became of it."""

    dataset: str
    submissions: list[Submission] = field(default_factory=list)
    final: dict[str, DocumentRecord] = field(default_factory=dict)  # document id -> row

    def followed(self) -> list[tuple[str, str]]:
        """(dataset, document id) of everything that is on its way (accepted, or in progress)."""
        keys = [(s.dataset, s.doc_id) for s in self.submissions if isinstance(s, Accepted)]
        keys += [
            (s.dataset, s.doc_id)
            for s in self.submissions
            if isinstance(s, Conflict) and s.reason == "in_progress"
        ]
        return keys

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
        }


async def submit_paths(settings: Settings, paths: Sequence[Path], dataset: str | None) -> QueuedImport:
    """Submit files, folders or one manifest's file sources to the queue."""
    targets, name = _targets(paths, dataset)
    redis = await connect(settings.queue)
    try:
        submitter = Submitter(ledger_for(settings), ArqQueue(redis, settings.queue))
        result = QueuedImport(dataset=name)
        for path, kind in targets:
            result.submissions.append(await submitter.submit_file(name, path, kind))
        return result
    finally:
        await redis.aclose()


async def follow(
    ledger: Ledger,
    queued: QueuedImport,
    on_change: Callable[[dict[str, DocumentRecord]], None] | None = None,
    poll_seconds: float = 0.5,
    timeout: float | None = None,
) -> QueuedImport:
    """Watch the ledger until every followed document is stored, failed or needs OCR.

    Cancelling this (Ctrl-C) stops watching; the workers go on.
    """
    keys = queued.followed()
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[str, DocumentRecord] = {}
    while True:
        rows = {doc_id: ledger.get(dataset, doc_id) for dataset, doc_id in keys}
        current = {doc_id: row for doc_id, row in rows.items() if row is not None}
        if on_change is not None and _changed(seen, current):
            on_change(current)
        seen = current
        queued.final = current
        if all(row.state in TERMINAL for row in current.values()) and len(current) == len(keys):
            return queued
        if deadline is not None and time.monotonic() > deadline:
            return queued
        await asyncio.sleep(poll_seconds)


def _changed(before: dict[str, DocumentRecord], after: dict[str, DocumentRecord]) -> bool:
    return {k: v.state for k, v in before.items()} != {k: v.state for k, v in after.items()}


def _targets(paths: Sequence[Path], dataset: str | None) -> tuple[list[tuple[Path, str]], str]:
    from cognition.errors import DatasetError
    from ingest.importer import collect_files

    if len(paths) == 1 and paths[0].suffix == ".toml":
        manifest = load_manifest(paths[0])
        name = dataset or manifest.name
        found: list[tuple[Path, str]] = []
        for source in manifest.sources:
            if source.kind in ("pdf", "text"):
                found += [
                    (p, source.kind) for p in expand_paths(source.paths, manifest.base_dir, source.kind)
                ]
        return found, name
    if not dataset:
        raise DatasetError("name the target dataset with --dataset (or import a manifest .toml)")
    return collect_files(paths), dataset
