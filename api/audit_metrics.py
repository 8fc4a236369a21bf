"""The audits' series in ``/metrics``: each visible dataset's latest stored audit, read from
the ledger at scrape time (so an audit run by a worker on another host shows here too).

Statuses are numbers an alert compares: 0 ok, 1 warn, 2 critical. A dataset never audited
has no audit series (``absent()`` sees it), never a false 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from cognition.audit import RANK
from cognition.ledger import Ledger
from cognition.ledger.audits import AuditRecord


def latest_audits(ledger: Ledger, datasets: Sequence[str]) -> list[AuditRecord]:
    """The latest audit of each dataset that has one (one indexed read per dataset)."""
    return [found[0] for name in sorted(datasets) if (found := ledger.audits(name, limit=1))]


class AuditCollector:
    def __init__(self, audits: Sequence[AuditRecord]) -> None:
        self.audits = audits

    def collect(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "cognition_audit_status",
            "The dataset's latest audit: its worst check (0 ok, 1 warn, 2 critical)",
            labels=["dataset"],
        )
        check = GaugeMetricFamily(
            "cognition_audit_check_status",
            "Each check of the dataset's latest audit (0 ok, 1 warn, 2 critical)",
            labels=["dataset", "check"],
        )
        offenders = GaugeMetricFamily(
            "cognition_audit_offenders",
            "What each check of the latest audit counted against the dataset",
            labels=["dataset", "check"],
        )
        finished = GaugeMetricFamily(
            "cognition_audit_timestamp_seconds",
            "When the dataset's latest audit finished (Unix time): its age is time() minus this",
            labels=["dataset"],
        )
        took = GaugeMetricFamily(
            "cognition_audit_duration_seconds", "How long the dataset's latest audit took", labels=["dataset"]
        )
        for audit in self.audits:
            status.add_metric([audit.dataset], RANK.get(audit.status, 2))
            finished.add_metric([audit.dataset], audit.finished_at)
            took.add_metric([audit.dataset], max(0.0, audit.finished_at - audit.started_at))
            for found in audit.checks:
                name = str(found.get("name", "?"))
                check.add_metric([audit.dataset, name], RANK.get(str(found.get("status")), 2))
                offenders.add_metric([audit.dataset, name], float(found.get("total", 0) or 0))
        yield from (status, check, offenders, finished, took)
