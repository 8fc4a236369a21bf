"""Response bodies of the audit routes: a stored audit and its checks, in the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from cognition.ledger.audits import AuditRecord

Status = Literal["ok", "warn", "critical"]


class CheckOut(BaseModel):
    name: str
    status: Status
    summary: str = Field(description="one line a person reads")
    total: int = Field(description="offenders counted")
    offenders: list[str] = Field(description="the first offenders' ids (capped)")
    values: dict[str, Any] = Field(description="the check's numbers: shares, counts, reasons")


class AuditOut(BaseModel):
    id: int | None = Field(description="the stored audit's id")
    dataset: str
    started_at: float = Field(description="Unix time")
    finished_at: float = Field(description="Unix time")
    status: Status = Field(description="the worst check's status")
    checks: list[CheckOut]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditOut:
        return cls(
            id=record.id,
            dataset=record.dataset,
            started_at=record.started_at,
            finished_at=record.finished_at,
            status=record.status,  # type: ignore[arg-type]
            checks=[CheckOut.model_validate(c) for c in record.checks],
        )


class AuditList(BaseModel):
    audits: list[AuditOut] = Field(description="newest first")


class AuditJobOut(BaseModel):
    """A submitted audit: poll ``/v1/jobs/{job_id}`` until it is done; its result names the
    stored audit (``audit_id``), which ``/audits/latest`` then returns."""

    job_id: str
    dataset: str
    status: Literal["accepted", "in_progress"] = Field(
        description="accepted: queued now; in_progress: an audit of the dataset was already queued or running"
    )
