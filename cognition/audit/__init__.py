"""Health audits of a dataset: checks computed in the stores and the ledger, with a status
by the thresholds of ``AuditSettings``, stored in the ledger so trends show."""

from cognition.audit.checks import RANK, Check, Status, worst
from cognition.audit.run import DatasetAudit, audit_dataset, audit_datasets

__all__ = ["RANK", "Check", "DatasetAudit", "Status", "audit_dataset", "audit_datasets", "worst"]
