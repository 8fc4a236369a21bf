"""Dataset names and identities."""

from __future__ import annotations

import re
import uuid

from cognition.errors import InvalidDatasetName

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # fullmatch: "$" lets a trailing newline through
_NAMESPACE = uuid.UUID("6f0d8f8e-4c55-4f7c-9a55-0c0f6a1e2b10")


def validate_dataset_name(name: str) -> str:
    """Dataset names are lowercase letters, digits, ``-`` and ``_``, 1-63 characters."""
    if not _NAME.fullmatch(name):
        raise InvalidDatasetName(
            f"invalid dataset name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def stable_id(*parts: str) -> uuid.UUID:
    """A deterministic id from its parts (the same parts always give the same id)."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(parts))


def document_id(dataset: str, content_hash: str) -> str:
    """A document's identity: its dataset and the sha256 of its content."""
    return str(stable_id("document", dataset, content_hash))


def entity_id(dataset: str, key: str) -> str:
    """An entity's identity: shared by every document of a dataset, it depends on the key only."""
    return str(stable_id(dataset, "entity", key))


def chunk_id(document: str, index: int) -> str:
    return str(stable_id(document, "chunk", str(index)))
