"""The torch-free runtimes give the vectors sentence-transformers gives.

``tests/data/minilm_reference.json`` holds texts (empty, punctuation, non-ASCII, shell code,
and chunks longer than the 256-token window) with the vectors sentence-transformers computed
for them on torch 2.13 from the same packaged weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cognition.embedding.minilm import MiniLMEmbedder, find_packaged_model_dir

REFERENCE = json.loads((Path(__file__).parents[2] / "data" / "minilm_reference.json").read_text())


@pytest.mark.parametrize("runtime", ["onnx", "numpy"])
def test_vectors_match_the_sentence_transformers_reference(runtime: str, tmp_path: Path) -> None:
    model = MiniLMEmbedder(find_packaged_model_dir(), runtime=runtime, cache_dir=tmp_path)  # type: ignore[arg-type]
    ours = model.embed(REFERENCE["texts"])
    reference = np.asarray(REFERENCE["vectors"], dtype=np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    cosines = (ours * reference).sum(axis=1)

    assert len(cosines) == len(REFERENCE["texts"]) == 8
    assert cosines.min() > 0.9999, dict(zip(REFERENCE["texts"], cosines.round(6).tolist(), strict=True))
