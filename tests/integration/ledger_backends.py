"""Settings for the ledger on each relational backend, for tests parametrized over them: a
SQLite file in a data directory of the test's own, or a fresh database in the session's
throwaway Postgres cluster. Also the bodies that child processes run (they must be
importable by name: children are spawned, not forked)."""

from __future__ import annotations

import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bench.postgres_server import PostgresServer
from cognition.ledger import DocumentRecord, open_ledger
from cognition.settings import AuditSettings, LedgerSettings, Settings

BACKENDS = ("sqlite", "postgres")


def backend_settings(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Settings whose ledger is on ``request.param``'s backend, empty."""
    url = None
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t_{uuid.uuid4().hex[:16]}")
    return settings_for(data_dir, url)


def settings_for(data_dir: Path, url: str | None) -> Settings:
    ledger = LedgerSettings(url=None if url is None else SecretStr(url))
    return Settings(data_dir=data_dir, ledger=ledger, audit=AuditSettings(every_seconds=0))


def url_of(settings: Settings) -> str | None:
    return None if settings.ledger.url is None else settings.ledger.url.get_secret_value()


def document(doc_id: str, dataset: str = "books", state: str = "reading") -> DocumentRecord:
    return DocumentRecord(
        dataset=dataset,
        doc_id=doc_id,
        source=f"/books/{doc_id}.pdf",
        content_hash=f"hash-{doc_id}",
        kind="pdf",
        state=state,
        pipeline_version="v1",
    )


def claim_in_child(
    data_dir: str, url: str | None, owner: str, doc_ids: list[str], start: Barrier, out: Queue[Any]
) -> None:
    """Open the ledger with the other child (a new database: both create its schema), then
    claim every document as the other child does; the other owner counts as running."""
    start.wait(timeout=120)
    ledger = open_ledger(settings_for(Path(data_dir), url))
    start.wait(timeout=120)
    granted = [doc for doc in doc_ids if ledger.claim(document(doc), owner, lambda _: True).granted]
    out.put((owner, granted))


def take_jobs_in_child(data_dir: str, url: str | None, owner: str, start: Barrier, out: Queue[Any]) -> None:
    """Take queued jobs until none is left (bounded), as the other child does."""
    ledger = open_ledger(settings_for(Path(data_dir), url))
    start.wait(timeout=120)
    taken: list[str] = []
    for _ in range(1000):
        job = ledger.take_next_job(now=10**10)
        if job is None:
            break
        taken.append(job.job_id)
    out.put((owner, taken))
