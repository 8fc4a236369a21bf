"""Parking a job on a real ledger file: the row says until when and why, the attempt is given
back and the parks counted; a queue's tries less its parks are the attempts; a job whose
worker stopped during every attempt fails even though the queue would try it again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cognition.governor import CircuitOpen, QuotaParked, QuotaTerminal
from cognition.ledger import DocumentRecord, JobRecord, SqliteLedger
from cognition.settings import QueueSettings
from ingest.parking import RetryLater, attempt_of, park, park_delay, worn_out

POLICY = QueueSettings(max_tries=3, max_park_seconds=60, max_parks=2)


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    made = SqliteLedger(tmp_path / "ledger.sqlite3")
    made.register_dataset("books")
    made.mark_queued(
        DocumentRecord(
            dataset="books",
            doc_id="d1",
            source="/b.pdf",
            content_hash="h",
            kind="pdf",
            state="queued",
            job_id="j1",
        )
    )
    made.add_job(JobRecord("j1", "books", "file", "/b.pdf", {}, doc_id="d1"))
    return made


def test_a_park_gives_the_attempt_back_and_says_until_when(ledger: SqliteLedger) -> None:
    until = time.time() + 30
    later = park(ledger, "j1", 2, CircuitOpen("gemini-embedding-001", until, "too many failures"), POLICY)
    job = ledger.job("j1")

    assert isinstance(later, RetryLater) and later.parked and 0 < later.delay <= 30
    assert job is not None and job.state == "queued" and job.parks == 1 and job.attempts == 1
    assert job.error is not None and job.error.startswith("parked until ")
    assert "circuit of gemini-embedding-001 is open (too many failures)" in job.error
    assert job.not_before > time.time()
    assert attempt_of(ledger, "j1", 3) == 2  # Arq's third run, after one park, is attempt 2


def test_a_park_wakes_at_least_every_max_park_seconds() -> None:
    assert park_delay(10_000.0 + 86_400, 10_000.0, POLICY) == 60
    assert park_delay(10_000.0 - 5, 10_000.0, POLICY) == 1.0  # already past: soon, not at once


def test_parks_beyond_max_parks_fail_and_a_terminal_quota_stops(ledger: SqliteLedger) -> None:
    parked = QuotaParked("gemini-embedding-001", time.time() + 60, "the server refused")
    assert isinstance(park(ledger, "j1", 1, parked, POLICY), RetryLater)
    assert isinstance(park(ledger, "j1", 1, parked, POLICY), RetryLater)
    third = park(ledger, "j1", 1, parked, POLICY)
    stopped = park(ledger, "j1", 1, QuotaTerminal("gemini-embedding-001: the quota is zero"), POLICY)

    assert isinstance(third, str) and third.startswith("gave up after 2 parks: the daily quota")
    assert isinstance(stopped, str) and stopped.startswith("stopped, not retried: gemini-embedding-001")
    assert "Fix the key's quota or billing" in stopped


def test_a_job_whose_worker_stopped_during_every_attempt_fails(ledger: SqliteLedger) -> None:
    assert worn_out(ledger, "j1", 3, POLICY) is None
    result = worn_out(ledger, "j1", 4, POLICY)
    job, document = ledger.job("j1"), ledger.get("books", "d1")

    assert result == {
        "failed": [{"path": "/b.pdf", "reason": "gave up after 3 attempts: the worker stopped during each"}]
    }
    assert job is not None and job.state == "failed"
    assert document is not None and document.state == "failed" and document.error == job.error
