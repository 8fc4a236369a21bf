"""A job's progress, written to its ledger row as it goes (so any process can show it)."""

from __future__ import annotations

import time

from cognition.ledger import Ledger
from cognition.ledger.jobs import MAX_FAILURES
from ingest.outcomes import Outcome

WRITE_EVERY = 1.0  # seconds between two progress writes of one job


class JobProgress:
    """Implements ``ingest.outcomes.Progress`` for a job: documents and pages planned and
    done, failures with their reasons. Writes at most once a second, and at ``flush``."""

    def __init__(self, ledger: Ledger, job_id: str) -> None:
        self._ledger = ledger
        self._job_id = job_id
        self._written = 0.0
        self.documents_total = self.documents_done = self.documents_failed = 0
        self.pages_total = self.pages_finished = 0
        self.failures: list[dict[str, str]] = []

    def planned(self, documents: int, pages: int) -> None:
        self.documents_total += documents
        self.pages_total += pages
        self._write()

    def document_started(self, path: str, pages: int) -> None:
        return None

    def pages_done(self, pages: int) -> None:
        self.pages_finished += pages
        self._write()

    def document_finished(self, outcome: Outcome) -> None:
        if outcome.status in ("failed", "needs_ocr"):
            self.documents_failed += 1
            if len(self.failures) < MAX_FAILURES:
                reason = outcome.reason or (
                    "no text layer (needs OCR)" if outcome.status == "needs_ocr" else ""
                )
                self.failures.append({"source": outcome.path, "reason": reason})
        else:
            self.documents_done += 1
        self._write()

    def flush(self) -> None:
        self._write(force=True)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY:
            return
        self._written = now
        self._ledger.update_job(
            self._job_id,
            documents_total=max(self.documents_total, self.documents_done + self.documents_failed),
            documents_done=self.documents_done,
            documents_failed=self.documents_failed,
            pages_total=self.pages_total,
            pages_done=min(self.pages_finished, self.pages_total)
            if self.pages_total
            else self.pages_finished,
            failures=self.failures,
        )
