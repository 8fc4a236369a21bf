"""Dataset names: the rule is checked on the whole name."""

from __future__ import annotations

import random

import pytest

from cognition.datasets import validate_dataset_name
from cognition.errors import InvalidDatasetName


@pytest.mark.parametrize("name", ["evil\n", "books\n", "a\n"])
def test_a_name_ending_in_a_newline_is_refused(name: str) -> None:
    with pytest.raises(InvalidDatasetName, match="invalid dataset name"):
        validate_dataset_name(name)


@pytest.mark.parametrize("name", ["books", "web-docs", "a", "agent_memory-2", "x" * 63])
def test_a_good_name_is_accepted(name: str) -> None:
    assert validate_dataset_name(name) == name


@pytest.mark.parametrize("name", ["", "Books", "-books", "x" * 64, "a b", "a/b", "\nbooks"])
def test_a_bad_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidDatasetName):
        validate_dataset_name(name)


def test_ids_derived_with_a_hashed_prefix_are_uuid5s_of_their_parts() -> None:
    """``stable_ids`` (which document, entity and chunk ids use) is ``uuid.uuid5`` of the
    parts joined by ``\\x1f``: ids written before it are found again."""
    import uuid

    from cognition.datasets import _NAMESPACE, chunk_id, document_id, entity_id, stable_ids

    rng = random.Random(5)
    alphabet = 'ab\x1f"\\é€😀 0'
    for _ in range(300):
        parts = [
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(6))) for _ in range(rng.randrange(1, 4))
        ]
        expected = str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))
        assert stable_ids(*parts[:-1])(parts[-1]) == expected, parts
    assert document_id("books", "ab12") == str(uuid.uuid5(_NAMESPACE, "document\x1fbooks\x1fab12"))
    assert entity_id("books", "git") == str(uuid.uuid5(_NAMESPACE, "books\x1fentity\x1fgit"))
    assert chunk_id("d", 7) == str(uuid.uuid5(_NAMESPACE, "d\x1fchunk\x1f7"))
