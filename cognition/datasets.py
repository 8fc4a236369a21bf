"""Dataset names and identities."""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable

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


def stable_ids(*prefix: str) -> Callable[[str], str]:
    """``str(stable_id(*prefix, last))`` for many ``last``, with the prefix hashed once: an
    audit derives the id of every node, and ``uuid.uuid5`` costs about 10 µs a call."""
    base = hashlib.sha1(_NAMESPACE.bytes + "\x1f".join((*prefix, "")).encode(), usedforsecurity=False)

    def derive(last: str) -> str:
        digest = base.copy()
        digest.update(last.encode())
        raw = bytearray(digest.digest()[:16])
        raw[6], raw[8] = (raw[6] & 0x0F) | 0x50, (raw[8] & 0x3F) | 0x80  # version 5, RFC 4122 variant
        x = raw.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    return derive


_ids = functools.lru_cache(maxsize=256)(stable_ids)  # a prefix per dataset, per document's chunks


def document_id(dataset: str, content_hash: str) -> str:
    """A document's identity: its dataset and the sha256 of its content."""
    return _ids("document", dataset)(content_hash)


def entity_id(dataset: str, key: str) -> str:
    """An entity's identity: shared by every document of a dataset, it depends on the key only."""
    return _ids(dataset, "entity")(key)


def chunk_id(document: str, index: int) -> str:
    return _ids(document, "chunk")(str(index))
