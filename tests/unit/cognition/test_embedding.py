"""The local embedding model: the upstream files, checked; 384-dim unit vectors that rank
paraphrases above unrelated text, whatever the order they are embedded in."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cognition.embedding.local import MODEL_ID, LocalEmbedder
from cognition.embedding.minilm import (
    MODEL_CHECKSUMS,
    MiniLMEmbedder,
    ModelFileError,
    find_packaged_model_dir,
    verify_model_files,
)
from cognition.runtime import Runtime
from cognition.settings import Settings
from tests.helpers import sha256_of

# sentence-transformers/all-MiniLM-L6-v2 as published upstream (commit 1110a243)
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


@pytest.fixture(scope="session")
def embedder(runtime: Runtime) -> LocalEmbedder:
    """The session runtime's embedder (the store's writes and the searcher use the same one)."""
    found = runtime.embedder
    assert isinstance(found, LocalEmbedder)
    return found


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A copy of the packaged model directory (the big weights file linked, not copied)."""
    source = find_packaged_model_dir()
    copy = tmp_path / "model"
    copy.mkdir()
    for item in source.iterdir():
        if item.name == "model.safetensors":
            (copy / item.name).symlink_to(item)
        elif item.is_file():
            shutil.copy(item, copy / item.name)
    return copy


def test_packaged_model_files_match_the_upstream_release() -> None:
    model_dir = find_packaged_model_dir()

    assert MODEL_CHECKSUMS == UPSTREAM_SHA256
    for name, expected in UPSTREAM_SHA256.items():
        assert sha256_of(model_dir / name) == expected, name
    verify_model_files(model_dir)


@pytest.mark.parametrize("name", sorted(UPSTREAM_SHA256))
def test_a_tampered_model_file_is_refused_by_name(model_copy: Path, name: str) -> None:
    target = model_copy / name
    if target.is_symlink():
        data = target.read_bytes()
        target.unlink()
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        with target.open("ab") as handle:
            handle.write(b"\n")

    with pytest.raises(ModelFileError, match=rf"model file '{name}'.*expected upstream"):
        verify_model_files(model_copy)
    with pytest.raises(ModelFileError, match=name):
        MiniLMEmbedder(model_copy, runtime="numpy")


def test_a_missing_model_file_is_refused_by_name(model_copy: Path) -> None:
    (model_copy / "vocab.txt").unlink()

    with pytest.raises(ModelFileError, match=r"model file 'vocab.txt' is missing"):
        verify_model_files(model_copy)


def test_the_untampered_copy_is_accepted(model_copy: Path) -> None:
    verify_model_files(model_copy)


def test_embeddings_are_384_dimensional_unit_vectors(embedder: LocalEmbedder) -> None:
    texts = ["Git stores every commit as an object.", "x", "A much longer sentence " * 40]

    vectors = embedder.embed_sync(texts)

    assert embedder.dimensions == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(embedder: LocalEmbedder) -> None:
    anchor, paraphrase, unrelated = embedder.embed_sync(
        [
            "How does Git store a commit object?",
            "In what way are commits saved in the Git object database?",
            "The recipe calls for two cups of flour and a pinch of salt.",
        ]
    )

    assert float(anchor @ paraphrase) > float(anchor @ unrelated) + 0.3


def test_vectors_do_not_depend_on_order_or_batch_neighbours(embedder: LocalEmbedder) -> None:
    texts = [
        "short",
        "A branch in Git is a file holding the SHA-1 of a commit.",
        "Parameter expansion replaces ${name} with the value of the variable name, " * 5,
        "tree",
    ]

    forward = embedder.embed_sync(texts)
    backward = embedder.embed_sync(list(reversed(texts)))[::-1]
    alone = np.stack([embedder.embed_sync([t])[0] for t in texts])

    np.testing.assert_allclose(forward, backward, atol=1e-5)
    np.testing.assert_allclose(forward, alone, atol=1e-5)


def test_the_same_text_gives_the_same_vector(embedder: LocalEmbedder) -> None:
    first = embedder.embed_sync(["git cat-file -p shows an object"])
    second = embedder.embed_sync(["git cat-file -p shows an object"])

    np.testing.assert_array_equal(first, second)


def test_empty_input_gives_no_vectors(embedder: LocalEmbedder) -> None:
    assert embedder.embed_sync([]).shape == (0, 384)


def test_nothing_is_kept_between_calls(embedder: LocalEmbedder) -> None:
    texts = ["again: a packfile stores deltas", "again: the index is the staging area"]
    first = embedder.embed_sync(texts)
    before = embedder.texts_embedded

    second = embedder.embed_sync(texts)

    np.testing.assert_array_equal(first, second)
    assert embedder.texts_embedded - before == 2  # computed anew: no cache keyed by text


def test_progress_is_reported_after_each_forward_pass(embedder: LocalEmbedder, settings: Settings) -> None:
    texts = [f"progress: text {i} of a long batch about packfiles and deltas" for i in range(40)]
    shares: list[float] = []

    vectors = embedder.embed_sync(texts, shares.append)

    passes = -(-len(texts) // settings.embedding.batch_size)
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert len(shares) == passes + 1  # once per forward pass, then once at the end
    assert shares[0] == pytest.approx(settings.embedding.batch_size / len(texts))
    assert vectors.shape == (40, 384)


async def test_the_port_gives_the_same_vectors_for_queries_and_documents(embedder: LocalEmbedder) -> None:
    texts = ["how does git store a commit object"]

    query = await embedder.embed(texts, "query")
    document = await embedder.embed(texts, "document")

    np.testing.assert_array_equal(query, document)
    np.testing.assert_array_equal(query, embedder.embed_sync(texts))
    assert (embedder.model_id, embedder.dimensions) == (MODEL_ID, 384)
