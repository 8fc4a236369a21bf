"""The ledger: its port, its SQLite and Postgres implementations, and who owns a document
in progress."""

from cognition.ledger.jobs import LIVE, JobRecord, JobState
from cognition.ledger.owner import owner_alive, this_process
from cognition.ledger.port import (
    IN_FLIGHT,
    TERMINAL,
    Claim,
    DatasetRecord,
    DocumentRecord,
    Failure,
    Ledger,
    LedgerCounts,
    State,
    StateCount,
)
from cognition.ledger.spend import Caps, Spend
from cognition.ledger.sqlite import SqliteLedger
from cognition.paths import DataPaths
from cognition.settings import Settings


def open_ledger(settings: Settings) -> Ledger:
    """The ledger ``ledger.url`` names: Postgres, or (unset) SQLite in the data directory."""
    if settings.ledger.url is not None:
        from cognition.ledger.postgres import PostgresLedger  # psycopg only when it is used

        return PostgresLedger(settings.ledger.url)
    return SqliteLedger(DataPaths.of(settings).ledger)


__all__ = [
    "IN_FLIGHT",
    "LIVE",
    "TERMINAL",
    "Caps",
    "Claim",
    "DatasetRecord",
    "DocumentRecord",
    "Failure",
    "JobRecord",
    "JobState",
    "Ledger",
    "LedgerCounts",
    "Spend",
    "SqliteLedger",
    "State",
    "StateCount",
    "open_ledger",
    "owner_alive",
    "this_process",
]
