"""What a caller may see and do: every read and write of the API and the MCP tools goes
through a ``Scope``. A dataset outside it answers exactly as a dataset that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from cognition.errors import DatasetNotFoundError, Forbidden
from cognition.ledger import Ledger

Right = Literal["read", "write", "admin"]
_RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}


@dataclass(frozen=True)
class Scope:
    may: Callable[[str, Right], bool]  # (dataset, right) -> allowed
    label: str  # who: a key's id, or "local"

    @classmethod
    def everything(cls, label: str = "local") -> Scope:
        return cls(lambda dataset, right: True, label)

    @classmethod
    def of_datasets(cls, names: Iterable[str], right: Right = "read", label: str = "local") -> Scope:
        """Only ``names``, with ``right`` (and the rights below it)."""
        allowed = frozenset(names)
        return cls(lambda dataset, wanted: dataset in allowed and _RANK[wanted] <= _RANK[right], label)

    def visible(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.may(name, "read")]

    def readable(self, ledger: Ledger) -> list[str]:
        """Every dataset the caller may read, by name."""
        return self.visible(ledger.datasets())

    def require(self, ledger: Ledger, dataset: str, right: Right = "read") -> None:
        """Pass if the dataset exists and the caller has ``right`` on it. A dataset the
        caller may not read is "not found", as one that does not exist."""
        if not self.may(dataset, "read") or ledger.dataset(dataset) is None:
            raise DatasetNotFoundError(dataset)
        if not self.may(dataset, right):
            raise Forbidden(f"this key may read dataset {dataset!r} but has no {right} right on it")

    def may_create(self, dataset: str) -> bool:
        """Creating a dataset needs the write right on its name (or on every dataset)."""
        return self.may(dataset, "write")
