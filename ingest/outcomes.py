"""What imports and crawls report: per-document outcomes, run summaries, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Status = Literal["added", "skipped", "replaced", "failed", "needs_ocr"]


@dataclass
class Outcome:
    """What happened to one file."""

    path: str
    status: Status
    reason: str | None = None
    pages: int = 0
    chunks: int = 0


@dataclass
class ImportSummary:
    """The result of one import run (the ``--json`` output)."""

    dataset: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    spend: dict[str, object] | None = None  # what this run paid for (paid models only)
    budget: dict[str, object] | None = None  # the cap that stopped the run, if one did

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "added": self.count("added"),
            "skipped": self.count("skipped"),
            "replaced": self.count("replaced"),
            "failed": [{"path": o.path, "reason": o.reason} for o in self.outcomes if o.status == "failed"],
            "needs_ocr": [o.path for o in self.outcomes if o.status == "needs_ocr"],
            "pages": sum(o.pages for o in self.outcomes),
            "chunks": sum(o.chunks for o in self.outcomes),
            "seconds": round(self.seconds, 3),
            **({"spend": self.spend} if self.spend is not None else {}),
            **({"budget": self.budget} if self.budget is not None else {}),
        }


class Progress(Protocol):
    """Where an import reports progress (a rich bar for people, nothing for scripts)."""

    def planned(self, documents: int, pages: int) -> None: ...

    def document_started(self, path: str, pages: int) -> None: ...

    def pages_done(self, pages: int) -> None: ...

    def document_finished(self, outcome: Outcome) -> None: ...


class NoProgress:
    def planned(self, documents: int, pages: int) -> None: ...

    def document_started(self, path: str, pages: int) -> None: ...

    def pages_done(self, pages: int) -> None: ...

    def document_finished(self, outcome: Outcome) -> None: ...


class CrawlSummary(ImportSummary):
    """An import summary whose JSON also says why URLs were skipped."""

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["skipped_reasons"] = [
            {"path": o.path, "reason": o.reason} for o in self.outcomes if o.status == "skipped" and o.reason
        ]
        return data
