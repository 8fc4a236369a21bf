"""API keys and what each may do: rights per dataset, the key store's port, grant parsing.

A key holds grants; a grant gives one right on one dataset, or on every dataset (``*``).
Rights nest: ``admin`` includes ``write``, which includes ``read``. A key that is revoked
allows nothing. No key exists until an operator creates one: there is no default key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from cognition.datasets import validate_dataset_name
from cognition.errors import CognitionError, InvalidDatasetName

Right = Literal["read", "write", "admin"]
RIGHTS: tuple[Right, ...] = get_args(Right)  # weakest first: each includes those before it
ALL = "*"
GRANT_FORM = (
    "RIGHT:DATASET, RIGHT one of read, write, admin and DATASET a dataset name or * (e.g. read:books)"
)
MAX_NAME_CHARS = 100


class InvalidGrant(CognitionError, ValueError):
    """A grant or key name that cannot be used (said in one line, with the expected form)."""


@dataclass(frozen=True)
class Grant:
    """One right on one dataset, or on every dataset (``dataset == ALL``)."""

    dataset: str
    right: Right

    def covers(self, dataset: str, right: Right) -> bool:
        """Whether this grant gives ``right`` (or more) on ``dataset``."""
        return self.dataset in (ALL, dataset) and RIGHTS.index(self.right) >= RIGHTS.index(right)

    def __str__(self) -> str:
        return f"{self.right}:{self.dataset}"


@dataclass(frozen=True)
class ApiKey:
    """A key as stored, without its secret (only a hash of it is ever kept).

    ``prefix`` is the first characters of the secret, safe to show, so a person can tell
    which of their secrets a listed key is."""

    id: str
    name: str
    grants: tuple[Grant, ...]
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None
    prefix: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, dataset: str, right: Right) -> bool:
        """Whether the key may use ``right`` on ``dataset`` (never, once revoked)."""
        return not self.revoked and any(grant.covers(dataset, right) for grant in self.grants)

    def visible(self, datasets: Iterable[str]) -> list[str]:
        """The datasets among ``datasets`` this key may read, in their order."""
        return [name for name in datasets if self.allows(name, "read")]

    def is_admin_of_all(self) -> bool:
        """Admin on every dataset: may create datasets and see every one."""
        return self.allows(ALL, "admin")  # only a grant on ``*`` covers the name ``*``

    def to_json(self) -> dict[str, object]:
        """The key for listings: never its secret, never its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "grants": [str(grant) for grant in self.grants],
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


class KeyStore(Protocol):
    """Where keys live. Secrets are returned once, by ``create``, and never stored."""

    def create(self, name: str, grants: Sequence[Grant]) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once: only a hash of it is kept)."""
        ...

    def authenticate(self, secret: str) -> ApiKey | None:
        """The key a secret belongs to; None for an unknown, revoked or malformed secret."""
        ...

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        ...

    def revoke(self, key_id: str) -> bool:
        """Revoke a key for good; False if no key has that id (revoking twice is True)."""
        ...


def parse_grant(text: str) -> Grant:
    """``read:books``, ``write:*``, ``admin:*`` → a ``Grant``; anything else is an
    ``InvalidGrant`` naming the expected form."""
    right, colon, dataset = text.strip().partition(":")
    if not colon or right not in RIGHTS:
        raise InvalidGrant(f"bad grant {text!r}: expected {GRANT_FORM}")
    if dataset != ALL:
        try:
            validate_dataset_name(dataset)
        except InvalidDatasetName as exc:
            raise InvalidGrant(f"bad grant {text!r}: {exc}") from None
    return Grant(dataset, right)


def check_key_name(name: str) -> str:
    """A key's name is a label for people: one line of 1-100 printable characters."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_CHARS or not cleaned.isprintable():
        raise InvalidGrant(f"bad key name {name!r}: use 1-{MAX_NAME_CHARS} printable characters on one line")
    return cleaned
