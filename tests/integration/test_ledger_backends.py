"""The ledger behaves the same on SQLite and on Postgres: claims (also by two processes at
once), failures, datasets, pages of documents, jobs (also taken by two processes at once),
audits, repairs, counts. Each test gets an empty ledger: a new SQLite file, or a new database
in the session's throwaway Postgres cluster; the ledger is opened as every entry point opens
it, by ``open_ledger(settings)``."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cognition.ledger import Caps, Failure, JobRecord, Ledger, Spend, open_ledger
from cognition.ledger.audits import AuditRecord
from cognition.ledger.postgres import PostgresLedger
from cognition.ledger.repairs import RepairRecord
from cognition.ledger.sqlite import SqliteLedger
from cognition.settings import Settings
from tests.integration.ledger_backends import (
    BACKENDS,
    backend_settings,
    claim_in_child,
    document,
    take_jobs_in_child,
    url_of,
)

CHILD_SECONDS = 120


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return backend_settings(request, tmp_path / "data")


@pytest.fixture
def ledger(settings: Settings) -> Ledger:
    return open_ledger(settings)


def test_the_settings_choose_the_backend(settings: Settings, ledger: Ledger) -> None:
    expected = SqliteLedger if settings.ledger.url is None else PostgresLedger

    assert type(ledger) is expected
    assert (settings.resolved_data_dir / "ledger.sqlite3").exists() == (settings.ledger.url is None)


def test_a_claim_is_refused_while_a_running_owner_holds_the_document(ledger: Ledger) -> None:
    first = ledger.claim(document("a"), "host:1", lambda _: True)
    second = ledger.claim(document("a"), "host:2", lambda _: True)
    taken_over = ledger.claim(document("a"), "host:3", lambda _: False)  # host:1 has ended

    assert (first.granted, first.previous) == (True, None)
    assert (second.granted, second.holder) == (False, "host:1")
    assert taken_over.granted and taken_over.previous is not None and taken_over.previous.owner == "host:1"
    row = ledger.get("books", "a")
    assert row is not None and (row.owner, row.attempts, row.state) == ("host:3", 2, "reading")


def test_a_stored_document_is_never_claimed_again(ledger: Ledger) -> None:
    ledger.claim(document("a"), "host:1", lambda _: True)
    ledger.set_state("books", "a", "stored", chunks=7)

    again = ledger.claim(document("a"), "host:1", lambda _: True)

    assert not again.granted and again.previous is not None and again.previous.chunks == 7
    row = ledger.get("books", "a")
    assert row is not None and (row.state, row.owner, row.attempts) == ("stored", None, 1)


def test_two_processes_claiming_the_same_documents_at_once_get_one_owner_each(settings: Settings) -> None:
    """Both open a new ledger at the same moment (the schema is made once, without error),
    then claim the same 200 documents in the same order: every document has one owner."""
    doc_ids = [f"doc-{n:03d}" for n in range(200)]
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(2), context.Queue()
    data_dir, url = str(settings.resolved_data_dir), url_of(settings)
    children = [
        context.Process(target=claim_in_child, args=(data_dir, url, owner, doc_ids, start, out))
        for owner in ("host-a:1", "host-b:2")
    ]
    for child in children:
        child.start()
    results = dict(out.get(timeout=CHILD_SECONDS) for _ in children)
    for child in children:
        child.join(timeout=CHILD_SECONDS)

    assert [child.exitcode for child in children] == [0, 0]
    granted = results["host-a:1"] + results["host-b:2"]
    assert sorted(granted) == doc_ids  # each document once: never both, never neither
    rows = open_ledger(settings).documents("books")
    assert {row.doc_id: row.owner for row in rows} == {
        doc: owner for owner, docs in results.items() for doc in docs
    }
    assert {row.attempts for row in rows} == {1}


def test_a_failure_is_counted_once_per_attempt_and_clears_the_owner(ledger: Ledger) -> None:
    ledger.claim(document("a"), "host:1", lambda _: True)
    failure = Failure("books", "a", "/books/a.pdf", "hash-a", "pdf", "not a PDF", "v1", permanent=True)

    in_flight = ledger.record_failure(failure)  # its attempt was counted by the claim
    again = ledger.record_failure(failure)  # a new attempt that failed before any claim

    assert (in_flight.attempts, again.attempts) == (1, 2)
    row = ledger.get("books", "a")
    assert row is not None and (row.state, row.error, row.permanent, row.owner) == (
        "failed",
        "not a PDF",
        1,
        None,
    )


def test_a_failed_document_goes_back_to_the_queue_and_a_stored_one_does_not(ledger: Ledger) -> None:
    ledger.record_failure(Failure("books", "a", "/books/a.pdf", "hash-a", "pdf", "timeout", "v1", False))
    ledger.claim(document("b"), "host:1", lambda _: True)
    ledger.set_state("books", "b", "stored")

    resubmitted = document("a", state="queued")
    resubmitted.job_id = "job-a"
    requeued = ledger.mark_queued(resubmitted)

    assert requeued
    assert not ledger.mark_queued(document("b"))
    assert [(r.doc_id, r.state, r.job_id) for r in ledger.queued_in_flight()] == [("a", "queued", "job-a")]


def test_datasets_keep_their_description_model_and_a_version_past_32_bits(ledger: Ledger) -> None:
    ledger.register_dataset("books", "the library")
    ledger.register_dataset("books")  # again, without a description: kept
    ledger.set_embedding("books", "minilm", 384)
    before = ledger.dataset_version("books")
    ledger.bump_version("books")

    found = ledger.dataset("books")

    assert found is not None and (found.description, found.embedding_model, found.embedding_dimensions) == (
        "the library",
        "minilm",
        384,
    )
    assert before is not None and before > 2**31 and found.version == before + 1
    assert abs(found.created_at - time.time()) < 3600  # a timestamp, to the second
    assert ledger.datasets() == ["books"]


def test_pages_of_documents_follow_byte_order_on_both_backends(ledger: Ledger) -> None:
    for doc_id in ("b", "B", "a", "_", "é"):
        record = document(doc_id)
        record.source = f"/books/{doc_id}"
        ledger.upsert(record)

    first = ledger.documents_page("books", None, None, 2)
    rest = ledger.documents_page("books", None, (first[-1].source, first[-1].doc_id), 10)

    assert [r.doc_id for r in first + rest] == ["B", "_", "a", "b", "é"]
    assert [r.doc_id for r in ledger.documents("books", "reading")] == ["B", "_", "a", "b", "é"]


def test_forgetting_a_dataset_drops_its_rows_and_no_other(ledger: Ledger) -> None:
    for name in ("books", "notes"):
        ledger.register_dataset(name)
        ledger.upsert(document("a", dataset=name))
        ledger.add_job(JobRecord(f"job-{name}", name, "file", "/x.pdf", {}))
        ledger.add_audit(AuditRecord(name, 1.0, 2.0, "ok", []))
        ledger.add_repair(RepairRecord(name, 1.0, "orphans", True, 0, {}))

    ledger.forget_dataset("books")

    assert ledger.datasets() == ["notes"]
    assert ledger.documents("books") == [] and ledger.jobs("books") == []
    assert ledger.audits("books") == [] and ledger.repairs("books") == []
    assert len(ledger.documents("notes")) == len(ledger.jobs("notes")) == len(ledger.audits("notes")) == 1


def test_spend_adds_up_per_dataset_job_and_model_and_caps_are_replaced(ledger: Ledger) -> None:
    for job, tokens in (("job-1", 100), ("job-1", 50), ("job-2", 7)):
        ledger.add_spend(Spend("books", "gemini-2.5-flash", 1, tokens, 10, 0.25, job))
    ledger.add_spend(Spend("books", "gemini-embedding-001", 2, 40, 0, 0.01, "job-1"))
    ledger.add_spend(Spend("notes", "gemini-2.5-flash", 1, 1, 1, 1.0, "job-3"))
    ledger.set_budget("books", Caps(max_tokens=1000))
    ledger.set_budget("books", Caps(max_cost=2.5))  # replaces, not merges

    flash, embedding = ledger.spend("books")
    assert (flash.model, flash.calls, flash.input_tokens, flash.output_tokens) == (
        "gemini-2.5-flash",
        3,
        157,
        30,
    )
    assert flash.cost == pytest.approx(0.75) and (embedding.calls, embedding.input_tokens) == (2, 40)
    [one] = [s for s in ledger.spend("books", job_id="job-1") if s.model == "gemini-2.5-flash"]
    assert (one.calls, one.input_tokens, one.job_id) == (2, 150, "job-1")
    assert ledger.budget("books") == Caps(max_cost=2.5) and ledger.budget("notes") == Caps()

    ledger.forget_dataset("books")
    assert ledger.spend("books") == [] and ledger.budget("books") == Caps()
    assert [s.calls for s in ledger.spend("notes")] == [1]


def test_a_live_job_is_recorded_once_and_a_finished_one_again(ledger: Ledger) -> None:
    job = JobRecord("job-1", "books", "file", "/books/a.pdf", {"path": "/books/a.pdf"})

    added, twice = ledger.add_job(job), ledger.add_job(JobRecord("job-1", "books", "file", "/other.pdf", {}))
    ledger.update_job("job-1", state="failed", error="boom", failures=[{"path": "x", "reason": "y"}])
    again = ledger.add_job(JobRecord("job-1", "books", "file", "/books/a.pdf", {"retry": True}))

    assert (added, twice, again) == (True, False, True)
    found = ledger.job("job-1")
    assert found is not None and (found.state, found.arguments, found.error) == (
        "queued",
        {"retry": True},
        None,
    )


def test_jobs_are_taken_oldest_first_when_due_and_requeued_after_a_crash(ledger: Ledger) -> None:
    ledger.add_job(JobRecord("later", "books", "file", "/a.pdf", {}, not_before=time.time() + 3600))
    ledger.add_job(JobRecord("first", "books", "file", "/b.pdf", {}))
    ledger.add_job(JobRecord("second", "books", "crawl", "https://x", {"depth": 1}))

    taken = [ledger.take_next_job(time.time()) for _ in range(3)]
    requeued = ledger.requeue_running_jobs()

    assert [job.job_id if job else None for job in taken] == ["first", "second", None]
    assert all(job is not None and (job.state, job.attempts) == ("running", 1) for job in taken[:2])
    assert requeued == 2
    assert [j.job_id for j in ledger.jobs("books", states=("queued",))] == ["second", "first", "later"]
    assert [j.job_id for j in ledger.jobs(limit=1)] == ["second"]


def test_two_processes_taking_jobs_at_once_take_each_once(settings: Settings) -> None:
    ledger = open_ledger(settings)
    for n in range(40):
        ledger.add_job(JobRecord(f"job-{n:02d}", "books", "file", f"/{n}.pdf", {}))
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(2), context.Queue()
    data_dir, url = str(settings.resolved_data_dir), url_of(settings)
    children = [
        context.Process(target=take_jobs_in_child, args=(data_dir, url, owner, start, out))
        for owner in ("a", "b")
    ]
    for child in children:
        child.start()
    results = dict(out.get(timeout=CHILD_SECONDS) for _ in children)
    for child in children:
        child.join(timeout=CHILD_SECONDS)

    taken = results["a"] + results["b"]
    assert sorted(taken) == [f"job-{n:02d}" for n in range(40)]
    assert {job.attempts for job in ledger.jobs(limit=100)} == {1}


def test_audits_and_repairs_are_listed_newest_first_with_their_ids(ledger: Ledger) -> None:
    ids = [
        ledger.add_audit(AuditRecord("books", t, t + 1, "ok", [{"check": "orphans", "n": t}]))
        for t in (1.0, 3.0, 2.0)
    ]
    repair_ids = [
        ledger.add_repair(RepairRecord("books", t, "orphans", dry_run=t < 2, count=2, details={"ids": ["x"]}))
        for t in (1.0, 2.0)
    ]

    audits = ledger.audits("books", limit=2)
    repairs = ledger.repairs("books")

    assert len(set(ids)) == 3 and len(set(repair_ids)) == 2
    assert [(a.started_at, a.id) for a in audits] == [(3.0, ids[1]), (2.0, ids[2])]
    assert audits[0].checks == [{"check": "orphans", "n": 3.0}]
    assert [(r.at, r.dry_run, r.id, r.details) for r in repairs] == [
        (2.0, False, repair_ids[1], {"ids": ["x"]}),
        (1.0, True, repair_ids[0], {"ids": ["x"]}),
    ]


def test_counts_group_by_dataset_and_state_and_list_owned_rows(ledger: Ledger) -> None:
    ledger.register_dataset("books")
    for doc_id, state in (("a", "stored"), ("b", "stored"), ("c", "failed")):
        record = document(doc_id, state=state)
        record.pages, record.chunks = 10, 4
        ledger.upsert(record)
    ledger.claim(document("d"), "host:1", lambda _: True)
    ledger.add_job(JobRecord("job-1", "books", "file", "/a.pdf", {}))

    counts = ledger.counts()

    assert counts.datasets == ["books"]
    assert sorted((c.state, c.documents, c.pages, c.chunks) for c in counts.documents) == [
        ("failed", 1, 10, 4),
        ("stored", 2, 20, 8),
    ]
    assert [r.doc_id for r in counts.working] == ["d"]
    assert counts.jobs == {("books", "queued"): 1}


def test_one_ledger_serves_many_threads_at_once(ledger: Ledger) -> None:
    """As the API and the inline runner use it (``asyncio.to_thread``): each call gets a
    connection of its own, none sees another's transaction."""

    def work(n: int) -> int:
        ledger.claim(document(f"t-{n:02d}"), f"host:{n}", lambda _: True)
        ledger.add_job(JobRecord(f"job-{n:02d}", "books", "file", f"/{n}.pdf", {}))
        ledger.update("books", f"t-{n:02d}", chunks=n)
        row = ledger.get("books", f"t-{n:02d}")
        return -1 if row is None else row.chunks

    with ThreadPoolExecutor(max_workers=8) as pool:
        chunks = list(pool.map(work, range(40)))

    assert chunks == list(range(40))
    assert len(ledger.documents("books")) == len(ledger.jobs(limit=100)) == 40
