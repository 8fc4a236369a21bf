"""A dataset records the embedding model it was built with; writing or searching it with
another model is refused (mixed vectors would corrupt search)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cognition.embedding.local import MODEL_ID
from cognition.embedding.port import Embedder
from cognition.errors import EmbeddingMismatch
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from ingest.importer import Importer


class OtherModel:
    """The session's embedder under another model's name (as a Gemini embedder would be)."""

    def __init__(self, inner: Embedder, model_id: str, dimensions: int) -> None:
        self._inner, self.model_id, self.dimensions = inner, model_id, dimensions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _with(runtime: Runtime, model_id: str, dimensions: int = 384) -> Runtime:
    return replace(runtime, _embedder=OtherModel(runtime.embedder, model_id, dimensions), _searcher=None)


async def test_a_dataset_keeps_its_model_and_refuses_another(
    runtime: Runtime, ledger: Ledger, tmp_path: Path, dataset_name: str
) -> None:
    first, second = tmp_path / "first.md", tmp_path / "second.md"
    first.write_text("# Blobs\n\nGit stores the content of files as blob objects.\n")
    second.write_text("# Trees\n\nA tree object lists blobs and other trees.\n")
    await Importer(runtime).import_paths([first], dataset_name)
    other = _with(runtime, "gemini-embedding-001", 768)

    with pytest.raises(EmbeddingMismatch) as refused:
        await Importer(other).import_paths([second], dataset_name)
    with pytest.raises(EmbeddingMismatch):
        await other.searcher.search("blob", [dataset_name], "vector", 3)

    record = ledger.dataset(dataset_name)
    assert record is not None and (record.embedding_model, record.embedding_dimensions) == (MODEL_ID, 384)
    assert str(refused.value) == (
        f"dataset {dataset_name!r} was built with the embedding model {MODEL_ID} (384 dimensions); this "
        "process embeds with gemini-embedding-001 (768 dimensions): mixed vectors would corrupt search. "
        "Switch the embedding settings back, or import into a new dataset."
    )
    assert [r.source for r in ledger.documents(dataset_name)] == [str(first.resolve())]  # nothing written
    assert await runtime.searcher.search("blob", [dataset_name], "vector", 3)  # its own model still reads it


async def test_a_new_dataset_takes_the_model_of_its_first_write(
    runtime: Runtime, ledger: Ledger, tmp_path: Path, dataset_name: str
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Refs\n\nA branch is a file that holds the SHA-1 of a commit.\n")

    await Importer(_with(runtime, "another/model-v2")).import_paths([note], dataset_name)

    record = ledger.dataset(dataset_name)
    assert record is not None and record.embedding_model == "another/model-v2"
    with pytest.raises(EmbeddingMismatch, match="was built with the embedding model another/model-v2"):
        await runtime.searcher.search("branch", [dataset_name], "vector", 3)
