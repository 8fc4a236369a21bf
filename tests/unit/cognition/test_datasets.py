"""Dataset names: the rule is checked on the whole name."""

from __future__ import annotations

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
