"""The local embedding model: the upstream files, checked; 384-dim unit vectors that rank
paraphrases above unrelated text, whatever the order they are embedded in."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cognition.embedding.engine import LocalEmbedder, shared_embedder
from cognition.embedding.minilm import (
    MODEL_CHECKSUMS,
    MiniLMEmbedder,
    ModelFileError,
    find_packaged_model_dir,
    verify_model_files,
)
from cognition.settings import Settings
from tests.helpers import sha256_of

# sentence-transformers/all-MiniLM-L6-v2 as published upstream (commit 1110a243)
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


@pytest.fixture(scope="module")
def embedder(settings: Settings) -> LocalEmbedder:
    """The process-wide embedder of the session's settings (the store uses the same one)."""
    return shared_embedder(settings)


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

    vectors = embedder.embed(texts)

    assert embedder.dimensions == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(embedder: LocalEmbedder) -> None:
    anchor, paraphrase, unrelated = embedder.embed(
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

    forward = embedder.embed(texts)
    backward = embedder.embed(list(reversed(texts)))[::-1]
    alone = np.stack([embedder.embed([t])[0] for t in texts])

    np.testing.assert_allclose(forward, backward, atol=1e-5)
    np.testing.assert_allclose(forward, alone, atol=1e-5)


def test_the_same_text_gives_the_same_vector(embedder: LocalEmbedder) -> None:
    first = embedder.embed(["git cat-file -p shows an object"])
    second = embedder.embed(["git cat-file -p shows an object"])

    np.testing.assert_array_equal(first, second)


def test_empty_input_gives_no_vectors(embedder: LocalEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


def test_vectors_computed_ahead_are_handed_out_once_then_forgotten(embedder: LocalEmbedder) -> None:
    ahead = ["prefetch: a packfile stores deltas", "prefetch: the index is the staging area"]
    later = "prefetch: a text embedded only when asked"
    reference = embedder.embed([*ahead, later])

    embedder.prefetch(ahead)
    before = embedder.texts_embedded
    mixed = embedder.embed([ahead[1], later, ahead[0]])  # the write asks, in its own order
    again = embedder.embed(ahead)  # handed out once: computed anew

    np.testing.assert_allclose(mixed, reference[[1, 2, 0]], atol=1e-5)
    np.testing.assert_allclose(again, reference[:2], atol=1e-5)
    assert embedder.texts_embedded - before == 1 + 2


def test_forgotten_vectors_are_not_handed_out(embedder: LocalEmbedder) -> None:
    texts = ["forget: a document that failed after it was embedded"]
    embedder.prefetch(texts)
    embedder.forget(texts)
    before = embedder.texts_embedded

    embedder.embed(texts)

    assert embedder.texts_embedded - before == 1


def test_prefetch_reports_its_progress_after_each_forward_pass(
    embedder: LocalEmbedder, settings: Settings
) -> None:
    texts = [f"progress: text {i} of a long batch about packfiles and deltas" for i in range(40)]
    shares: list[float] = []

    embedder.prefetch(texts, shares.append)
    vectors = embedder.embed(texts)  # taken from what prefetch computed

    passes = -(-len(texts) // settings.embedding.batch_size)
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert len(shares) == passes + 1  # once per forward pass, then once at the end
    assert shares[0] == pytest.approx(settings.embedding.batch_size / len(texts))
    assert vectors.shape == (40, 384)


def test_vectors_forgotten_while_a_prefetch_computes_them_are_not_kept(embedder: LocalEmbedder) -> None:
    texts = [f"forget mid-way: chunk {i} of a document whose import was cancelled" for i in range(40)]

    def cancelled_meanwhile(share: float) -> None:  # runs between two forward passes
        if share < 1.0:
            embedder.forget(texts)

    embedder.prefetch(texts, cancelled_meanwhile)
    before = embedder.texts_embedded
    embedder.embed(texts)

    assert embedder.texts_embedded - before == len(texts)  # nothing was kept: all computed anew
