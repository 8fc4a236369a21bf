"""Jobs in the ledger: every accepted submission (a file or a crawl), its state and progress.

A job is recorded when it is accepted, before anything runs, in both modes: with Redis the
Arq workers run it, without Redis the API server does (``ingest.inline``). Either way the
row says where it is (``queued`` → ``running`` → ``done`` | ``failed``), how far it got
(documents and pages done of those planned, failures with their reasons) and what it
returned. A server that restarts finds its accepted jobs here and runs them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from cognition.ledger.sql import Db, Row, upsert_sql

JobState = Literal["queued", "running", "done", "failed"]
LIVE: tuple[JobState, ...] = ("queued", "running")
MAX_FAILURES = 50  # reasons kept on a job's row (a crawl may fail hundreds of URLs)


@dataclass
class JobRecord:
    job_id: str
    dataset: str
    kind: Literal["file", "crawl", "audit"]
    source: str
    arguments: dict[str, Any]
    state: JobState = "queued"
    doc_id: str | None = None
    attempts: int = 0
    documents_total: int = 0
    documents_done: int = 0
    documents_failed: int = 0
    pages_total: int = 0
    pages_done: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    not_before: float = 0.0  # a retried job waits until then
    parks: int = 0  # times the job was parked (a provider's day or circuit): not attempts
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0


JOB_COLUMNS = [f.name for f in fields(JobRecord)]
_JSON = ("arguments", "failures", "result")

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    arguments TEXT NOT NULL,
    state TEXT NOT NULL,
    doc_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    documents_total INTEGER NOT NULL DEFAULT 0,
    documents_done INTEGER NOT NULL DEFAULT 0,
    documents_failed INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_done INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    error TEXT,
    not_before REAL NOT NULL DEFAULT 0,
    parks INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, not_before, created_at);
CREATE INDEX IF NOT EXISTS jobs_dataset ON jobs (dataset, created_at)
"""


_ADD = (
    upsert_sql("jobs", JOB_COLUMNS, ("job_id",))
    + f" WHERE jobs.state NOT IN ({', '.join(repr(state) for state in LIVE)})"
)


def add_job(db: Db, job: JobRecord) -> bool:
    """Record an accepted job; False if a job with its id is queued or running. A finished
    job's row is replaced (the same content may be submitted again after a failure). One
    statement: of two processes adding one id at once, the second finds the first's row."""
    now = time.time()
    job.created_at, job.updated_at = now, now
    return int(db.execute(_ADD, _values(job)).rowcount) > 0


def update_job(db: Db, job_id: str, changes: dict[str, Any]) -> None:
    changes = {"updated_at": time.time(), **changes}
    unknown = set(changes) - set(JOB_COLUMNS)
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    values = [json.dumps(v) if k in _JSON else v for k, v in changes.items()]
    assignments = ", ".join(f"{name} = ?" for name in changes)
    db.execute(f"UPDATE jobs SET {assignments} WHERE job_id = ?", [*values, job_id])


def take_next(db: Db, now: float, skip_locked: str = "") -> JobRecord | None:
    """The oldest queued job that may run now, marked ``running`` (its attempt counted), in
    one statement. ``skip_locked`` (Postgres) passes over a row another process is taking;
    the outer ``state = 'queued'`` makes sure only one of two takes it."""
    rows = db.execute(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ?), "
        "updated_at = ? WHERE state = 'queued' AND job_id = (SELECT job_id FROM jobs WHERE state = 'queued' "
        f"AND not_before <= ? ORDER BY created_at LIMIT 1{skip_locked}) RETURNING *",
        (now, now, now),
    ).fetchall()
    return job_record(rows[0]) if rows else None


def job_record(row: Row) -> JobRecord:
    values = {name: row[name] for name in JOB_COLUMNS}
    for name in _JSON:
        raw = values[name]
        values[name] = None if raw is None else json.loads(raw)
    return JobRecord(**values)


def _values(job: JobRecord) -> list[Any]:
    return [json.dumps(getattr(job, n)) if n in _JSON else getattr(job, n) for n in JOB_COLUMNS]
